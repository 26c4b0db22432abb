/**
 * A measuring meter fed by an external power meter (a Tasmota or Shelly smart plug, or anything that
 * publishes watts) over MQTT. Samples are stamped on arrival (ms, performance.now()) into a bounded
 * series; a request's energy is the trapezoid integral of power over [start, stop] (power-series.ts),
 * interpolated at both ends. When the newest sample is older than stop, stop() waits up to one
 * sample period for the next one so the end is interpolated rather than extrapolated; without it the
 * last value is held.
 *
 * The plug measures the whole device at the wall: `share` scales the figure to one request.
 * Sample rate matters: Tasmota's TelePeriod is 10 s at least (poll `Status 10` faster, or use
 * `PowerDelta` to publish on change); Shelly Gen2 publishes status on change. A request shorter
 * than the sample period is still integrated, but from interpolated power.
 */
import { randomUUID } from 'node:crypto';
import { connectMqtt, subscribeAcrossReconnects, DynasplitError, ErrorCodes, silentLogger, type Logger, type MqttClient } from '../common/index.ts';
import { shareOf, type EnergyMark, type EnergyMeter, type EnergyReading, type Usage } from './energy.ts';
import { parsePowerPayload, PowerSeries, type PowerSample } from './power-series.ts';

export interface MqttPowerMeterOptions {
  /** Broker URL, e.g. mqtt://127.0.0.1:1883 */
  url: string;
  /** Topic (filter) the plug publishes on, e.g. tele/plug1/SENSOR or shellies/plug1/relay/0/power */
  topic: string;
  clientId?: string;
  username?: string;
  password?: string;
  /** ms between the plug's samples: how long stop() waits for a sample after the interval; default 1000 */
  samplePeriodMs?: number;
  /** Samples kept; default 10,000 */
  maxSamples?: number;
  logger?: Logger;
}

export const DEFAULT_SAMPLE_PERIOD_MS = 1000;

export interface MqttPowerMeter extends EnergyMeter {
  /** The samples held now (ms on performance.now()'s clock, W). */
  samples(): readonly PowerSample[];
  /** Payloads on the topic that carried no power figure. */
  readonly ignored: number;
}

/** Connects, subscribes to `topic`, and returns a meter integrating what the plug publishes. */
export async function createMqttPowerMeter(options: MqttPowerMeterOptions): Promise<MqttPowerMeter> {
  const samplePeriodMs = options.samplePeriodMs ?? DEFAULT_SAMPLE_PERIOD_MS;
  if (!(samplePeriodMs > 0)) throw new DynasplitError(ErrorCodes.BAD_ARGS, `samplePeriodMs must be > 0, got ${samplePeriodMs}`);
  const logger = (options.logger ?? silentLogger()).child({ component: 'mqtt-power-meter', topic: options.topic });
  const series = new PowerSeries(options.maxSamples ?? 10_000);
  const waiters = new Set<() => void>();
  let ignored = 0;
  const client: MqttClient = await connectMqtt(options.url, {
    clientId: options.clientId ?? `dynasplit-power-${randomUUID().slice(0, 8)}`,
    username: options.username,
    password: options.password,
    logger,
  });
  client.on('message', (_topic, payload) => {
    const watts = parsePowerPayload(payload);
    if (watts === undefined) {
      ignored += 1;
      logger.debug({ payload: payload.toString('utf8', 0, 200) }, 'payload without a power figure ignored');
      return;
    }
    series.add(performance.now(), watts);
    for (const wake of waiters) wake();
  });
  await subscribeAcrossReconnects(client, options.topic, { qos: 0 });

  let closed = false;
  /** Resolves once a sample newer than `t` is held, after `timeoutMs`, or on close. */
  const sampleAfter = (t: number, timeoutMs: number): Promise<void> => new Promise((resolve) => {
    if ((series.last()?.at ?? -Infinity) > t) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      waiters.delete(check);
      resolve();
    };
    const check = (): void => {
      if (closed || (series.last()?.at ?? -Infinity) > t) done();
    };
    const timer = setTimeout(done, timeoutMs);
    waiters.add(check);
  });

  return {
    source: 'measured',
    get ignored() {
      return ignored;
    },
    samples: () => series.samples(),
    start: (): EnergyMark => ({ at: performance.now() }),
    async stop(mark: EnergyMark, usage: Usage): Promise<EnergyReading> {
      const end = performance.now();
      if (!closed) await sampleAfter(end, samplePeriodMs);
      if (series.length === 0) {
        throw new DynasplitError(ErrorCodes.TIMEOUT, `no power samples received on ${options.topic}`, {
          retryable: true,
          details: { url: options.url, topic: options.topic },
        });
      }
      // W·ms / 1000 = J
      return { joules: (series.integrate(mark.at, end) / 1000) * shareOf(usage), source: 'measured' };
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const wake of waiters) wake();
      await client.endAsync();
    },
  };
}
