/** Cloud worker options: one place, with defaults and units, validated by parseCloudOptions. */
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { requirePositiveIntegers, stripUndefined } from '../common/index.ts';
import { DEFAULT_MODEL_CACHE_DIR } from '../model/index.ts';
import { checkNodeOptions, type NodeOptions } from '../node-runtime/index.ts';
import { CLOUD_GROUP, checkId } from '../schemas/index.ts';

/** A cloud worker's options: those of every node (NodeOptions: models, transport, threads, profile, energy, ...) and its own. */
export interface CloudWorkerOptions extends NodeOptions {
  /** Unique id of this worker (replies, logs). Default: cloud-HOST-PID. */
  workerId: string;
  /** Workers in one group share the requests; default 'cloud' */
  group: string;
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
  checkNodeOptions('cloud worker', options);
  requirePositiveIntegers('cloud worker', options, ['concurrency', 'maxQueue']);
  return options;
}
