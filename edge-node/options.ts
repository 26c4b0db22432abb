/** Edge node options: one place, with defaults and units, validated by parseEdgeOptions. */
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynasplitError, ErrorCodes, requirePositiveIntegers, stripUndefined } from '../common/index.ts';
import { DEFAULT_MODEL_CACHE_DIR } from '../model/index.ts';
import { checkNodeOptions, type NodeOptions } from '../node-runtime/index.ts';
import { checkId, EDGE_GROUP } from '../schemas/index.ts';

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
    workDir: join(tmpdir(), `dynasplit-${edgeId}`),
    modelCacheDir: DEFAULT_MODEL_CACHE_DIR,
    profile: 'host',
    energyMeter: 'modelled',
    sysfsRoot: '/sys',
    agreementSampleRate: 0.05,
    maxSensorRate: 0,
    linkMbps: 0,
    linkRttMs: 0,
  };
}

export function parseEdgeOptions(partial: Partial<EdgeNodeOptions>): EdgeNodeOptions {
  const options = { ...defaultEdgeOptions(), ...stripUndefined(partial) };
  checkId('edge', options.edgeId);
  checkId('edge class', options.edgeClass);
  checkId('group', options.group);
  checkNodeOptions('edge node', options);
  requirePositiveIntegers('edge node', options, ['concurrency', 'maxInFlight', 'maxQueue', 'topK', 'dedupeWindow', 'maxFrameBytes']);
  if (!(options.minCloudWaitMs >= 0)) throw bad('minCloudWaitMs must be >= 0');
  if (!(options.maxSensorRate >= 0)) throw bad('maxSensorRate must be >= 0');
  if (!(options.linkMbps >= 0) || !(options.linkRttMs >= 0)) throw bad('linkMbps and linkRttMs must be >= 0');
  if (!(options.agreementSampleRate >= 0 && options.agreementSampleRate <= 1)) throw bad('agreementSampleRate must be within 0..1');
  return options;
}

function bad(message: string): DynasplitError {
  return new DynasplitError(ErrorCodes.BAD_ARGS, `edge node: ${message}`);
}
