/** Edge node options: one place, with defaults and units, validated by parseEdgeOptions. */
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynasplitError, ErrorCodes, requirePositiveIntegers, stripUndefined } from '../common/index.ts';
import { DEFAULT_MODEL_CACHE_DIR } from '../model/index.ts';
import { checkNodeOptions, type NodeOptions } from '../node-runtime/index.ts';
import { checkId, DEFAULT_FRAME_LIMITS, EDGE_GROUP, FRAME_LIMIT_NAMES, type FrameLimits } from '../schemas/index.ts';

/** An edge node's options: those of every node (NodeOptions: models, transport, threads, profile, energy, ...) and its own. */
export interface EdgeNodeOptions extends NodeOptions {
  /** Unique id of this node (results, logs, reply topics). Default: edge-HOST-PID. */
  edgeId: string;
  /** Which policies this node follows (`dynasplit/v1/policy/MODEL/CLASS`); default 'default'. */
  edgeClass: string;
  /** Shared-subscription group of the frame stream; nodes in one group share frames. default 'edge' */
  group: string;
  /** MiB of model weights kept loaded; default 1024 */
  memoryBudgetMb: number;
  /** bytes; frames larger than this are refused with DYNASPLIT_ERR_PAYLOAD_TOO_LARGE. default 16 MiB */
  maxFrameBytes: number;
  /** Frames computed on the edge at once (preprocessing, head, encoding, a fallback tail); default 2 */
  concurrency: number;
  /** Frames in progress at once, computing or waiting for a cloud worker's answer; default 16 */
  maxInFlight: number;
  /** Frames waiting beyond those in progress; more are refused (DYNASPLIT_ERR_OVERLOADED). default 256 */
  maxQueue: number;
  /** ms given to the cloud at least, even when the budget is nearly spent; default 5 */
  minCloudWaitMs: number;
  /** Classes reported per result; default 5 */
  topK: number;
  /** Request ids remembered for duplicate suppression; default 10000 */
  dedupeWindow: number;
  /**
   * bytes of frames in progress and results remembered (the journal's live state, in memory too);
   * beyond it the oldest results are forgotten and new frames refused (DYNASPLIT_ERR_OVERLOADED).
   * The journal on disk stays below about three times this. default 128 MiB
   */
  journalMaxBytes: number;
  /** Times a frame recovered from the journal is run again after restarts before it is answered DYNASPLIT_ERR_REPLAY_LIMIT and dropped; default 3 */
  maxReplays: number;
  /** Frames of one sensor in progress at once (of maxInFlight); default 8 */
  maxSensorInFlight: number;
  /** Frames of one sensor waiting (of maxQueue); more are refused (DYNASPLIT_ERR_OVERLOADED). default 192 */
  maxSensorQueue: number;
  /** Limits of every field of a frame (schemas/limits.ts); default DEFAULT_FRAME_LIMITS */
  limits: FrameLimits;
  /**
   * Where the node keeps its journal and id (docs/reliability.md): frames it acknowledged survive a
   * restart, it remembers what it answered, and it uses a persistent MQTT session. default none
   * (nothing kept: a clean session, and frames in flight at a crash are lost).
   */
  stateDir?: string;
  /** Where split parts are written; default $TMPDIR/dynasplit-edge-ID */
  workDir: string;
  /** Root of the cpufreq sysfs tree; default /sys */
  sysfsRoot: string;
  /** Share of requests (0..1) also run through the unsplit model to measure top-1 agreement; default 0.05 */
  agreementSampleRate: number;
  /** Frames per second one sensor may send (bursts up to that many); more are refused (DYNASPLIT_ERR_RATE_LIMITED). 0 = no limit; default 0 */
  maxSensorRate: number;
  /** Emulated uplink to the cloud, Mbit/s (0 = the real network only); default 0 */
  linkMbps: number;
  /** Emulated link round-trip time, ms; default 0 */
  linkRttMs: number;
  /**
   * ms close() waits for frames in progress to finish, and then for the broker to acknowledge the
   * last results; past it the node stops anyway (a durable node replays what was left at its next
   * start). A frame can wait its whole budget for a cloud that is gone. default 10000
   */
  closeGraceMs: number;
}

export function defaultEdgeOptions(): EdgeNodeOptions {
  const edgeId = `edge-${hostname().replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 40)}-${process.pid}`;
  return {
    edgeId,
    edgeClass: 'default',
    mqttUrl: 'mqtt://127.0.0.1:1883',
    group: EDGE_GROUP,
    models: { 'vgg16-tiny': 'vgg16-tiny' },
    transport: 'mqtt',
    natsUrl: 'nats://127.0.0.1:4222',
    threads: 0,
    memoryBudgetMb: 1024,
    maxFrameBytes: 16 * 1024 * 1024,
    concurrency: 2,
    maxInFlight: 16,
    maxQueue: 256,
    minCloudWaitMs: 5,
    topK: 5,
    dedupeWindow: 10_000,
    journalMaxBytes: 128 * 1024 * 1024,
    maxReplays: 3,
    maxSensorInFlight: 8,
    maxSensorQueue: 192,
    limits: { ...DEFAULT_FRAME_LIMITS },
    workDir: join(tmpdir(), `dynasplit-${edgeId}`),
    modelCacheDir: DEFAULT_MODEL_CACHE_DIR,
    profile: 'host',
    energyMeter: 'modelled',
    sysfsRoot: '/sys',
    agreementSampleRate: 0.05,
    maxSensorRate: 0,
    linkMbps: 0,
    linkRttMs: 0,
    closeGraceMs: 10_000,
  };
}

/** What a caller gives: any option, and any frame limits (the others keep their defaults). */
export type EdgeNodeInput = Partial<Omit<EdgeNodeOptions, 'limits'>> & { limits?: Partial<FrameLimits> };

export function parseEdgeOptions(partial: EdgeNodeInput): EdgeNodeOptions {
  const defaults = defaultEdgeOptions();
  const options = { ...defaults, ...stripUndefined(partial), limits: { ...defaults.limits, ...stripUndefined(partial.limits ?? {}) } };
  checkId('edge', options.edgeId);
  checkId('edge class', options.edgeClass);
  checkId('group', options.group);
  checkNodeOptions('edge node', options);
  requirePositiveIntegers('edge node', options, ['concurrency', 'maxInFlight', 'maxQueue', 'topK', 'dedupeWindow', 'maxFrameBytes',
    'journalMaxBytes', 'maxReplays', 'maxSensorInFlight', 'maxSensorQueue']);
  for (const name of Object.keys(options.limits)) {
    if (!(FRAME_LIMIT_NAMES as string[]).includes(name)) throw bad(`unknown frame limit '${name}' (one of ${FRAME_LIMIT_NAMES.join(', ')})`);
  }
  requirePositiveIntegers('edge node frame limits', options.limits, FRAME_LIMIT_NAMES);
  if (!(options.minCloudWaitMs >= 0)) throw bad('minCloudWaitMs must be >= 0');
  if (!(options.maxSensorRate >= 0)) throw bad('maxSensorRate must be >= 0');
  if (!(options.linkMbps >= 0) || !(options.linkRttMs >= 0)) throw bad('linkMbps and linkRttMs must be >= 0');
  if (!(options.closeGraceMs >= 0)) throw bad('closeGraceMs must be >= 0');
  if (!(options.agreementSampleRate >= 0 && options.agreementSampleRate <= 1)) throw bad('agreementSampleRate must be within 0..1');
  return options;
}

function bad(message: string): DynasplitError {
  return new DynasplitError(ErrorCodes.BAD_ARGS, `edge node: ${message}`);
}
