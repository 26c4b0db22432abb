/** Live optimizer options: one place, with defaults and units, validated by parseOptimizerOptions. */
import { DynasplitError, ErrorCodes, requirePositiveIntegers, stripUndefined, type MqttTls } from '../common/index.ts';
import { DEFAULT_MODEL_CACHE_DIR } from '../model/index.ts';
import { DECISION_RULES, type DecisionRule } from '../policy/index.ts';
import { checkId, checkModelName } from '../schemas/index.ts';

export interface OptimizerOptions {
  /** default 'optimizer-PID' */
  optimizerId: string;
  /** default mqtt://127.0.0.1:1883 */
  mqttUrl: string;
  /** TLS material for an mqtts:// broker (private CA, client certificate); default none. */
  mqttTls?: MqttTls;
  /** Models to optimize: name -> .onnx path or zoo name. default { 'vgg16-tiny': 'vgg16-tiny' } */
  models: Record<string, string>;
  /**
   * The edge class the policies are for; default: every class whose nodes announce themselves
   * (schemas/node.proto NodeAnnouncement), or 'default' with an edgeProfile override.
   */
  edgeClass?: string;
  /**
   * Device profile of the edge class (a name, a JSON path, or 'host' for this machine), over what its
   * nodes announce. default none: the class's nodes' own announced profiles.
   */
  edgeProfile?: string;
  /** Device profile of the cloud workers, over what they announce. default none: the workers' own. */
  cloudProfile?: string;
  /** ms between rounds; default 2000 */
  intervalMs: number;
  /** ms of recent metrics each round reads: the link and the configurations in use; default 10000 */
  windowMs: number;
  /**
   * ms a configuration's measurements are remembered once it is no longer used (so a configuration
   * that measured badly is not retried on the model's word alone); older ones age out. default 60000
   */
  memoryMs: number;
  /** Measurements before a configuration's own figures replace the model's; default 3 */
  minRuns: number;
  /** Share of budgets whose choice must change before a new policy is published (0..1); default 0.1 */
  hysteresis: number;
  /** Decision rule written into the policies; default 'energy-first' */
  rule: DecisionRule;
  /** Link assumed until transfers are measured: Mbit/s and ms; default 100 and 2 */
  linkMbps: number;
  linkRttMs: number;
  /** Codecs the policies may use; default all */
  codecs?: string[];
  /** default ~/.cache/dynasplit/models */
  modelCacheDir: string;
}

export function defaultOptimizerOptions(): OptimizerOptions {
  return {
    optimizerId: `optimizer-${process.pid}`,
    mqttUrl: 'mqtt://127.0.0.1:1883',
    models: { 'vgg16-tiny': 'vgg16-tiny' },
    intervalMs: 2_000,
    windowMs: 10_000,
    memoryMs: 60_000,
    minRuns: 3,
    hysteresis: 0.1,
    rule: 'energy-first',
    linkMbps: 100,
    linkRttMs: 2,
    modelCacheDir: DEFAULT_MODEL_CACHE_DIR,
  };
}

export function parseOptimizerOptions(partial: Partial<OptimizerOptions>): OptimizerOptions {
  const options = { ...defaultOptimizerOptions(), ...stripUndefined(partial) };
  const bad = (message: string) => new DynasplitError(ErrorCodes.BAD_ARGS, `optimizer: ${message}`);
  checkId('optimizer', options.optimizerId);
  if (options.edgeClass !== undefined) checkId('edge class', options.edgeClass);
  Object.keys(options.models).forEach(checkModelName);
  if (Object.keys(options.models).length === 0) throw bad('at least one model is needed');
  requirePositiveIntegers('optimizer', options, ['intervalMs', 'windowMs', 'memoryMs', 'minRuns']);
  if (options.memoryMs < options.windowMs) throw bad('memoryMs must be at least windowMs');
  if (!(options.hysteresis >= 0 && options.hysteresis <= 1)) throw bad('hysteresis must be within 0..1');
  if (!DECISION_RULES.includes(options.rule)) throw bad(`rule must be one of ${DECISION_RULES.join(', ')}`);
  if (!(options.linkMbps > 0) || !(options.linkRttMs >= 0)) throw bad('linkMbps must be > 0 and linkRttMs >= 0');
  return options;
}
