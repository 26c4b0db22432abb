/**
 * The options an edge node and a cloud worker both have, and their one check. Each component's
 * options.ts extends them, keeps its own defaults, and calls checkNodeOptions from its parse function.
 */
import { DynasplitError, ErrorCodes, requirePositiveIntegers, type MqttTls } from '../common/index.ts';
import { INFERENCE_THREADS, type InferenceThread } from '../model/index.ts';
import { checkModelName } from '../schemas/index.ts';
import { checkNatsUrl, type NatsAuth } from '../transport/index.ts';

export const ENERGY_METERS = ['modelled', 'rapl', 'mqtt'] as const;

/** See NodeOptions.inferenceThread. */
export const DEFAULT_INFERENCE_THREAD: InferenceThread = 'main';

export interface NodeOptions {
  /** Served models: name -> .onnx path or zoo name. default { 'vgg16-tiny': 'vgg16-tiny' } */
  models: Record<string, string>;
  /** name -> model card file, for a card not beside its model (NAME.card.json); default none */
  cards?: Record<string, string>;
  /** Values of symbolic dims (--dim NAME=V), over the cards' own; default none */
  dims?: Record<string, number>;
  /** Tensor transport between edge and cloud: 'mqtt' (through the broker) or 'nats'. default 'mqtt' */
  transport: 'mqtt' | 'nats';
  /** default mqtt://127.0.0.1:1883 */
  mqttUrl: string;
  /** default nats://127.0.0.1:4222 */
  natsUrl: string;
  /** TLS material for an mqtts:// broker (private CA, client certificate); default none. */
  mqttTls?: MqttTls;
  /** NATS nkey seed and TLS files (docs/security.md); passwords and tokens go in natsUrl. default none */
  natsAuth?: NatsAuth;
  /** Intra-op threads per session; default 0 (onnxruntime's choice; one when emulating, see sessionThreads). */
  threads: number;
  /**
   * Where sessions compute: 'worker' (a worker thread per session: the event loop keeps taking frames,
   * replies and acknowledgements while a model runs) or 'main' (the event loop waits for every run).
   * default DEFAULT_INFERENCE_THREAD; docs/performance.md has what each costs.
   */
  inferenceThread?: InferenceThread;
  /** MiB of model weights kept loaded. */
  memoryBudgetMb: number;
  /** Where split parts are written; default $TMPDIR/dynasplit-ID */
  workDir: string;
  /** Where zoo models named in `models` are generated once; default ~/.cache/dynasplit/models */
  modelCacheDir: string;
  /** Device profile the node runs as: 'host' (this machine, measured) or a profile to emulate ('rpi4', 'gpu-server', ...). default 'host' */
  profile: string;
  /** How energy is known: 'modelled' from the profile, 'rapl' (powercap counters), 'mqtt' (a smart plug). default 'modelled' */
  energyMeter: (typeof ENERGY_METERS)[number];
  /** MQTT topic of the smart plug measuring this node (energyMeter 'mqtt'); read from the same broker. */
  powerMeterTopic?: string;
}

/** Checks the options every node has; throws DYNASPLIT_ERR_BAD_ARGS naming `component`. */
export function checkNodeOptions(component: string, options: NodeOptions): void {
  const bad = (message: string) => new DynasplitError(ErrorCodes.BAD_ARGS, `${component}: ${message}`);
  if (Object.keys(options.models).length === 0) throw bad('at least one model must be served');
  Object.keys(options.models).forEach(checkModelName);
  const unserved = Object.keys(options.cards ?? {}).find((name) => !(name in options.models));
  if (unserved !== undefined) throw bad(`a model card is given for '${unserved}', which is not served`);
  for (const [dim, value] of Object.entries(options.dims ?? {})) {
    if (!Number.isInteger(value) || value < 1) throw bad(`dim ${dim} must be an integer >= 1, got ${value}`);
  }
  if (options.transport !== 'mqtt' && options.transport !== 'nats') throw bad(`transport must be mqtt or nats, got '${options.transport}'`);
  if (options.transport === 'nats') checkNatsUrl(options.natsUrl, `${component}: the NATS URL (--nats, DYNASPLIT_NATS_URL)`);
  requirePositiveIntegers(component, options, ['memoryBudgetMb']);
  if (!Number.isInteger(options.threads) || options.threads < 0) throw bad('threads must be an integer >= 0');
  if (options.inferenceThread !== undefined && !INFERENCE_THREADS.includes(options.inferenceThread)) {
    throw bad(`inferenceThread must be ${INFERENCE_THREADS.join(' or ')}, got '${options.inferenceThread}'`);
  }
  if (!ENERGY_METERS.includes(options.energyMeter)) throw bad(`energyMeter must be modelled, rapl or mqtt, got '${options.energyMeter}'`);
  if (options.energyMeter === 'mqtt' && !options.powerMeterTopic) throw bad('energyMeter mqtt needs powerMeterTopic');
}
