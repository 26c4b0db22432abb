/** Cloud worker options: one place, with defaults and units, validated by parseCloudOptions. */
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynasplitError, ErrorCodes, requirePositiveIntegers, stripUndefined, type MqttTls } from '../common/index.ts';
import { DEFAULT_MODEL_CACHE_DIR } from '../model/index.ts';
import type { NatsAuth } from '../transport/index.ts';
import { CLOUD_GROUP, checkId, checkModelName } from '../schemas/index.ts';

export interface CloudWorkerOptions {
  /** Unique id of this worker (replies, logs). Default: cloud-HOST-PID. */
  workerId: string;
  /** Served models: name -> .onnx path or zoo name. default { 'vgg16-tiny': 'vgg16-tiny' } */
  models: Record<string, string>;
  /** default 'mqtt' (through the broker); 'nats' for a NATS server or cluster. */
  transport: 'mqtt' | 'nats';
  /** default mqtt://127.0.0.1:1883 */
  mqttUrl: string;
  /** default nats://127.0.0.1:4222 */
  natsUrl: string;
  /** TLS material for an mqtts:// broker (private CA, client certificate); default none. */
  mqttTls?: MqttTls;
  /** NATS nkey seed and TLS files (docs/security.md); passwords and tokens go in natsUrl. default none */
  natsAuth?: NatsAuth;
  /** Workers in one group share the requests; default 'cloud' */
  group: string;
  /** Intra-op threads per session; default 0 (onnxruntime's choice). */
  threads: number;
  /** Tail requests run at once; default 1 (onnxruntime already uses every core for one). */
  concurrency: number;
  /** Requests waiting beyond those running; more are answered with DYNASPLIT_ERR_OVERLOADED. default 256 */
  maxQueue: number;
  /** onnxruntime execution provider for tails ('cpu', 'cuda', ...); default 'cpu' */
  executionProvider: string;
  /** MiB of model weights kept loaded; default 4096 */
  memoryBudgetMb: number;
  /** Where split parts are written; default $TMPDIR/dynasplit-WORKERID */
  workDir: string;
  /** Where zoo models are generated once; default ~/.cache/dynasplit/models */
  modelCacheDir: string;
  /** Device profile the worker runs as: 'host' (measured) or a cloud profile to emulate ('gpu-server'). default 'host' */
  profile: string;
  /** How energy is known: 'modelled' from the profile, 'rapl' (powercap counters), 'mqtt' (a smart plug). default 'modelled' */
  energyMeter: 'modelled' | 'rapl' | 'mqtt';
  /** MQTT topic of the smart plug measuring this node (energyMeter 'mqtt'). */
  powerMeterTopic?: string;
}

export function defaultCloudOptions(): CloudWorkerOptions {
  const workerId = `cloud-${hostname().replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 40)}-${process.pid}`;
  return {
    workerId,
    models: { 'vgg16-tiny': 'vgg16-tiny' },
    transport: 'mqtt',
    mqttUrl: 'mqtt://127.0.0.1:1883',
    natsUrl: 'nats://127.0.0.1:4222',
    group: CLOUD_GROUP,
    threads: 0,
    concurrency: 1,
    maxQueue: 256,
    executionProvider: 'cpu',
    memoryBudgetMb: 4096,
    workDir: join(tmpdir(), `dynasplit-${workerId}`),
    modelCacheDir: DEFAULT_MODEL_CACHE_DIR,
    profile: 'host',
    energyMeter: 'modelled',
  };
}

export function parseCloudOptions(partial: Partial<CloudWorkerOptions>): CloudWorkerOptions {
  const options = { ...defaultCloudOptions(), ...stripUndefined(partial) };
  checkId('worker', options.workerId);
  checkId('group', options.group);
  if (Object.keys(options.models).length === 0) throw new DynasplitError(ErrorCodes.BAD_ARGS, 'cloud worker: at least one model must be served');
  Object.keys(options.models).forEach(checkModelName);
  if (options.transport !== 'mqtt' && options.transport !== 'nats') {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `cloud worker: transport must be mqtt or nats, got '${options.transport}'`);
  }
  requirePositiveIntegers('cloud worker', options, ['concurrency', 'maxQueue', 'memoryBudgetMb']);
  if (!Number.isInteger(options.threads) || options.threads < 0) throw new DynasplitError(ErrorCodes.BAD_ARGS, 'cloud worker: threads must be an integer >= 0');
  return options;
}
