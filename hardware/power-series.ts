/**
 * The pure core of the MQTT power meter: a bounded time series of power samples (ms, W) with its
 * integral, and the parser of smart-plug payloads. Between samples the power is taken as linear
 * (the trapezoid rule); before the first sample and after the last one it is held constant. So a
 * ramp sampled at any rate integrates exactly, and a step between two samples is smeared over that
 * one sample period (error <= step * period / 2).
 */

export interface PowerSample {
  /** ms on the meter's clock (performance.now()) */
  at: number;
  watts: number;
}

export class PowerSeries {
  readonly #samples: PowerSample[] = [];

  /** @param capacity samples kept; older ones are dropped (default 10,000: ~3 h at 1 Hz) */
  constructor(readonly capacity = 10_000) {}

  get length(): number {
    return this.#samples.length;
  }

  last(): PowerSample | undefined {
    return this.#samples[this.#samples.length - 1];
  }

  samples(): readonly PowerSample[] {
    return this.#samples;
  }

  /** Appends a sample; one older than the last is inserted in order (clocks do not go back, but be safe). */
  add(at: number, watts: number): void {
    const list = this.#samples;
    if (list.length === 0 || at >= list[list.length - 1].at) list.push({ at, watts });
    else list.splice(this.#firstAfter(at), 0, { at, watts });
    // Drop in batches of a quarter of the capacity so trimming stays amortised O(1) per sample.
    if (list.length > this.capacity + Math.ceil(this.capacity / 4)) list.splice(0, list.length - this.capacity);
  }

  /** W at time t: linear between the neighbouring samples, held before the first and after the last. */
  valueAt(t: number): number {
    const list = this.#samples;
    if (list.length === 0) return NaN;
    const i = this.#firstAfter(t);
    if (i === 0) return list[0].watts;
    if (i === list.length) return list[list.length - 1].watts;
    const a = list[i - 1];
    const b = list[i];
    return a.watts + ((b.watts - a.watts) * (t - a.at)) / (b.at - a.at);
  }

  /** ∫ P dt over [t0, t1] in W·ms (divide by 1000 for J): trapezoids between t0, the samples inside, and t1. */
  integrate(t0: number, t1: number): number {
    if (this.#samples.length === 0 || t1 <= t0) return 0;
    let prevT = t0;
    let prevW = this.valueAt(t0);
    let sum = 0;
    for (let i = this.#firstAfter(t0); i < this.#samples.length && this.#samples[i].at < t1; i++) {
      const { at, watts } = this.#samples[i];
      sum += ((prevW + watts) / 2) * (at - prevT);
      prevT = at;
      prevW = watts;
    }
    return sum + ((prevW + this.valueAt(t1)) / 2) * (t1 - prevT);
  }

  /** Index of the first sample strictly after t (binary search). */
  #firstAfter(t: number): number {
    let lo = 0;
    let hi = this.#samples.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#samples[mid].at <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/**
 * Watts from a smart plug's MQTT payload, or undefined when it carries none. Understood:
 * - Tasmota telemetry `tele/<topic>/SENSOR`: `{"ENERGY":{"Power":12.3,...}}` (an array for
 *   multi-channel meters: summed);
 * - Tasmota `Status 10` reply `stat/<topic>/STATUS10`: `{"StatusSNS":{"ENERGY":{"Power":12.3}}}`;
 * - Shelly Gen2+ switch status `<prefix>/status/switch:0`: `{"id":0,"apower":12.3,...}`;
 * - Shelly Gen2+ notifications `<prefix>/events/rpc`: `{"method":"NotifyStatus","params":{"switch:0":{"apower":12.3}}}`;
 * - Shelly Gen1 `shellies/<id>/relay/0/power` and any plain number: `12.3`.
 */
export function parsePowerPayload(payload: Uint8Array | string): number | undefined {
  const text = (typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8')).trim();
  if (text === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const watts = typeof value === 'number' ? value : fromObject(value);
  return watts !== undefined && Number.isFinite(watts) && watts >= 0 ? watts : undefined;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function fromObject(value: unknown): number | undefined {
  if (!isObject(value)) return undefined;
  const energy = isObject(value.ENERGY) ? value.ENERGY : isObject(value.StatusSNS) && isObject(value.StatusSNS.ENERGY) ? value.StatusSNS.ENERGY : undefined;
  if (energy) return sumOf(energy.Power);
  if (typeof value.apower === 'number') return value.apower;
  if (isObject(value.params)) {
    const switches = Object.entries(value.params).filter(([k, v]) => k.startsWith('switch:') && isObject(v) && typeof v.apower === 'number');
    if (switches.length) return switches.reduce((sum, [, v]) => sum + ((v as Json).apower as number), 0);
  }
  return undefined;
}

function sumOf(power: unknown): number | undefined {
  if (typeof power === 'number') return power;
  if (Array.isArray(power) && power.length && power.every((p) => typeof p === 'number')) return power.reduce((a: number, b: number) => a + b, 0);
  return undefined;
}
