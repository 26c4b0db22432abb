/** Sensor options: one place, with defaults and units, validated by parseSensorOptions. */
import { DynasplitError, ErrorCodes, MAX_TIMER_MS, requirePositiveIntegers, stripUndefined, type MqttTls } from '../common/index.ts';
import { DEFAULT_MODEL_CACHE_DIR } from '../model/index.ts';
import { checkId, checkModelName } from '../schemas/index.ts';
import { budgetSampler } from '../workload/index.ts';

export interface SensorOptions {
  /** default 'sensor-1' */
  sensorId: string;
  /** default mqtt://127.0.0.1:1883 */
  mqttUrl: string;
  /** TLS material for an mqtts:// broker (private CA, client certificate); default none. */
  mqttTls?: MqttTls;
  /** Model name as the edge nodes serve it; default 'vgg16-tiny' */
  model: string;
  /** Where the sensor reads the model's input shape: .onnx path or zoo name; default = model */
  modelSource?: string;
  /** Model card (image preprocessing, dims) to use instead of the one beside the model; default none */
  card?: string;
  /** Values of the model's symbolic dims (--dim NAME=V), over the card's; default none */
  dims?: Record<string, number>;
  /** Frames to send; default 200 */
  count: number;
  /** Frames per second; default 50 */
  rate: number;
  /** Budget spec (workload/ BUDGET_SPECS; weibull needs its SCALE here); default 'uniform:5:50' (ms) */
  budgets: string;
  /** Seed of budgets and synthetic inputs; default 1 */
  seed: number;
  /** Directory of JPEG/PNG images to send (cycled); default: synthetic inputs */
  imagesDir?: string;
  /** Send images encoded (the edge decodes them) instead of preprocessed tensors; default false */
  sendEncoded: boolean;
  /**
   * ms to wait for outstanding results after the last frame; default 10000, or longer when a frame's
   * budget is: the largest budget sent plus 5000 (an edge answers a frame by its budget's end, with a
   * result of its own when the cloud does not answer in time).
   */
  drainMs?: number;
  /** ms to wait, before the first frame, for an edge node serving the model (client/edge-wait.ts); 0: send at once. Default 30000 */
  waitForEdgeMs: number;
  /** A persistent MQTT session (FrameClientOptions.persistentSession): results survive a broker restart. Default false */
  persistentSession?: boolean;
  /** default ~/.cache/dynasplit/models */
  modelCacheDir: string;
}

/** ms the sensor waits for results after its last frame at least, and beyond the largest budget it sent. */
export const DRAIN_MS = 10_000;
export const DRAIN_AFTER_BUDGET_MS = 5_000;

/** The wait for results after the last frame: the option, else DRAIN_MS or the largest budget sent plus DRAIN_AFTER_BUDGET_MS. */
export function drainMsFor(drainMs: number | undefined, longestBudgetMs: number): number {
  return drainMs ?? Math.min(MAX_TIMER_MS, Math.max(DRAIN_MS, Math.ceil(longestBudgetMs) + DRAIN_AFTER_BUDGET_MS));
}

export function defaultSensorOptions(): SensorOptions {
  return {
    sensorId: 'sensor-1',
    mqttUrl: 'mqtt://127.0.0.1:1883',
    model: 'vgg16-tiny',
    count: 200,
    rate: 50,
    budgets: 'uniform:5:50',
    seed: 1,
    sendEncoded: false,
    waitForEdgeMs: 30_000,
    modelCacheDir: DEFAULT_MODEL_CACHE_DIR,
  };
}

export function parseSensorOptions(partial: Partial<SensorOptions>): SensorOptions {
  const options = { ...defaultSensorOptions(), ...stripUndefined(partial) };
  checkId('sensor', options.sensorId);
  checkModelName(options.model);
  requirePositiveIntegers('sensor', options, options.drainMs === undefined ? ['count'] : ['count', 'drainMs']);
  if (!(options.rate > 0) || !Number.isFinite(options.rate)) throw new DynasplitError(ErrorCodes.BAD_ARGS, `sensor: rate must be a positive number of frames/s, got ${options.rate}`);
  if (!Number.isInteger(options.seed) || options.seed < 0) throw new DynasplitError(ErrorCodes.BAD_ARGS, 'sensor: seed must be an integer >= 0');
  if (!Number.isInteger(options.waitForEdgeMs) || options.waitForEdgeMs < 0 || options.waitForEdgeMs > MAX_TIMER_MS) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS,
      `sensor: the wait for an edge must be a whole number of ms from 0 (do not wait) to ${MAX_TIMER_MS}, got ${options.waitForEdgeMs}`);
  }
  if (options.sendEncoded && !options.imagesDir) throw new DynasplitError(ErrorCodes.BAD_ARGS, 'sensor: sending encoded images needs an images directory');
  budgetSampler(options.budgets, { seed: options.seed }); // validates the spec now rather than mid-run
  return options;
}
