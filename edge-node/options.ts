/** Edge node options: one place, with defaults and units, validated by parseEdgeOptions. */
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynasplitError, ErrorCodes, requirePositiveIntegers, stripUndefined, type MqttTls } from '../common/index.ts';
import { DEFAULT_MODEL_CACHE_DIR } from '../model/index.ts';
import type { NatsAuth } from '../transport/index.ts';
import { checkId, checkModelName, EDGE_GROUP } from '../schemas/index.ts';

export interface EdgeNodeOptions {
  /** Unique id of this node (results, logs, reply topics). Default: edge-HOST-PID. */
  edgeId: string;
  /** Which policies this node follows (`dynasplit/v1/policy/MODEL/CLASS`); default 'default'. */
  edgeClass: string;
  /** default mqtt://127.0.0.1:1883 */
  mqttUrl: string;
  /** Shared-subscription group of the frame stream; nodes in one group share frames. default 'edge' */
  group: string;
  /** Served models: name -> .onnx path or zoo name. default { 'vgg16-tiny': 'vgg16-tiny' } */
  models: Record<string, string>;
  /** Tensor transport to the cloud workers; default 'mqtt' (through the same broker). */
  transport: 'mqtt' | 'nats';
  /** default nats://127.0.0.1:4222 */
  natsUrl: string;
  /** TLS material for an mqtts:// broker (private CA, client certificate); default none. */
  mqttTls?: MqttTls;
  /** NATS nkey seed and TLS files (docs/security.md); passwords and tokens go in natsUrl. default none */
  natsAuth?: NatsAuth;
  /** Intra-op threads of edge sessions; default 0 (onnxruntime's choice). */
  threads: number;
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
  /** Where zoo models named in `models` are generated once; default ~/.cache/dynasplit/models */
  modelCacheDir: string;
  /** Device profile the node runs as: 'host' (this machine, measured) or a profile to emulate ('rpi4', ...). default 'host' */
  profile: string;
  /** How energy is known: 'modelled' from the profile, 'rapl' (powercap counters), 'mqtt' (a smart plug). default 'modelled' */
  energyMeter: 'modelled' | 'rapl' | 'mqtt';
  /** MQTT topic of the smart plug measuring this node (energyMeter 'mqtt'); read from the same broker. */
  powerMeterTopic?: string;
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
  if (Object.keys(options.models).length === 0) throw bad('at least one model must be served');
  Object.keys(options.models).forEach(checkModelName);
  if (options.transport !== 'mqtt' && options.transport !== 'nats') throw bad(`transport must be mqtt or nats, got '${options.transport}'`);
  requirePositiveIntegers('edge node', options, ['concurrency', 'maxInFlight', 'maxQueue', 'topK', 'dedupeWindow', 'maxFrameBytes', 'memoryBudgetMb']);
  if (!Number.isInteger(options.threads) || options.threads < 0) throw bad('threads must be an integer >= 0');
  if (!(options.minCloudWaitMs >= 0)) throw bad('minCloudWaitMs must be >= 0');
  if (!(options.maxSensorRate >= 0)) throw bad('maxSensorRate must be >= 0');
  if (!(options.linkMbps >= 0) || !(options.linkRttMs >= 0)) throw bad('linkMbps and linkRttMs must be >= 0');
  if (!(options.agreementSampleRate >= 0 && options.agreementSampleRate <= 1)) throw bad('agreementSampleRate must be within 0..1');
  if (!['modelled', 'rapl', 'mqtt'].includes(options.energyMeter)) throw bad(`energyMeter must be modelled, rapl or mqtt, got '${options.energyMeter}'`);
  if (options.energyMeter === 'mqtt' && !options.powerMeterTopic) throw bad('energyMeter mqtt needs powerMeterTopic');
  return options;
}

function bad(message: string): DynasplitError {
  return new DynasplitError(ErrorCodes.BAD_ARGS, `edge node: ${message}`);
}
