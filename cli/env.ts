/**
 * Where the command line meets the environment: flags win, then DYNASPLIT_* variables, then the
 * component's defaults. The only module besides cli/main.ts that reads process.env.
 */
import {
  checkMqttUrl, DynasplitError, ErrorCodes, loadMqttTls, LOG_FORMATS, rootLogger, type LogFormat, type Logger, type MqttTls,
} from '../common/index.ts';
import { readFileSync } from 'node:fs';
import { createMetricsStore, parseInfluxEnv, type MetricsStore } from '../metrics/index.ts';
import { parseModelSpec } from '../node-runtime/index.ts';
import type { NatsAuth } from '../transport/index.ts';
import type { CommandArgs, OptionSpec } from './command.ts';
import { numeric, stringOption } from './command.ts';

export const LOG_LEVEL_OPTION: OptionSpec = { type: 'string', value: 'LEVEL', description: 'log level: fatal, error, warn, info, debug, silent (env DYNASPLIT_LOG_LEVEL)', default: 'info' };
export const MQTT_OPTION: OptionSpec = { type: 'string', value: 'URL', description: 'MQTT broker (env DYNASPLIT_MQTT_URL; default mqtt://127.0.0.1:1883)' };
export const NATS_OPTION: OptionSpec = { type: 'string', value: 'URL', description: 'NATS server(s), comma-separated (env DYNASPLIT_NATS_URL; default nats://127.0.0.1:4222)' };
export const TRANSPORT_OPTION: OptionSpec = { type: 'string', value: 'KIND', description: 'tensor transport to the cloud: mqtt or nats (env DYNASPLIT_TRANSPORT; default mqtt)' };
export const MODEL_OPTION: OptionSpec = {
  type: 'string', multiple: true, value: 'NAME[=FILE]',
  description: 'model to serve: a zoo name, path/to/NAME.onnx, or NAME=path/to/model.onnx (repeatable; env DYNASPLIT_MODELS, comma-separated; default vgg16-tiny)',
};

/** A flag's value, else the environment variable's, else undefined. */
export function flagOrEnv(args: CommandArgs, flag: string, env: string): string | undefined {
  return stringOption(args, flag) ?? (process.env[env] || undefined);
}

export function numberFlag(args: CommandArgs, flag: string, env?: string): number | undefined {
  const raw = env ? flagOrEnv(args, flag, env) : stringOption(args, flag);
  if (raw === undefined) return undefined;
  const value = numeric(raw);
  if (!Number.isFinite(value)) throw new DynasplitError(ErrorCodes.BAD_ARGS, `--${flag} must be a number, got '${raw}'`);
  return value;
}

/**
 * `--model a --model b=/x.onnx --model dir/c.onnx` (or DYNASPLIT_MODELS=a,b=/x.onnx) as
 * { a: 'a', b: '/x.onnx', c: 'dir/c.onnx' } (parseModelSpec).
 */
export function modelsFlag(args: CommandArgs): Record<string, string> | undefined {
  const raw = args.values.model;
  const list = Array.isArray(raw) ? raw.map(String) : (process.env.DYNASPLIT_MODELS?.split(',').filter(Boolean) ?? []);
  if (list.length === 0) return undefined;
  return Object.fromEntries(list.map(parseModelSpec));
}

export function transportFlag(args: CommandArgs): 'mqtt' | 'nats' | undefined {
  const raw = flagOrEnv(args, 'transport', 'DYNASPLIT_TRANSPORT');
  if (raw === undefined || raw === 'mqtt' || raw === 'nats') return raw;
  throw new DynasplitError(ErrorCodes.BAD_ARGS, `--transport must be mqtt or nats, got '${raw}'`);
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * The root logger from --log-level and --log-format (or DYNASPLIT_LOG_LEVEL, DYNASPLIT_LOG_FORMAT):
 * readable lines on a terminal, JSON lines otherwise. `stderr` defaults to the process's.
 */
export function loggerFor(args: CommandArgs, fallback = 'info', stderr?: { write(text: string): void; isTTY: boolean }): Logger {
  const level = logLevelFlag(args, fallback);
  const isTTY = stderr ? stderr.isTTY : process.stderr.isTTY === true;
  const format = logFormatFlag(args) ?? (isTTY ? 'pretty' : 'json');
  // https://no-color.org: any non-empty NO_COLOR turns colours off.
  const colors = isTTY && format === 'pretty' && !process.env.NO_COLOR;
  return rootLogger(level, { format, colors, ...(stderr ? { write: (text: string) => stderr.write(text) } : {}) });
}

export function logLevelFlag(args: CommandArgs, fallback = 'info'): string {
  const level = flagOrEnv(args, 'log-level', 'DYNASPLIT_LOG_LEVEL') ?? fallback;
  if (!LOG_LEVELS.includes(level)) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `--log-level must be one of ${LOG_LEVELS.join(', ')}; got '${level}'`);
  }
  return level;
}

export function logFormatFlag(args: CommandArgs): LogFormat | undefined {
  const raw = flagOrEnv(args, 'log-format', 'DYNASPLIT_LOG_FORMAT');
  if (raw === undefined || (LOG_FORMATS as readonly string[]).includes(raw)) return raw as LogFormat | undefined;
  throw new DynasplitError(ErrorCodes.BAD_ARGS, `--log-format must be one of ${LOG_FORMATS.join(', ')}; got '${raw}'`);
}

/** --mqtt (or DYNASPLIT_MQTT_URL), refused at once unless it is an MQTT URL with a scheme. */
export function mqttUrlFlag(args: CommandArgs): string | undefined {
  const fromFlag = stringOption(args, 'mqtt');
  const url = fromFlag ?? (process.env.DYNASPLIT_MQTT_URL || undefined);
  return url === undefined ? undefined : checkMqttUrl(url, fromFlag !== undefined ? '--mqtt' : 'DYNASPLIT_MQTT_URL');
}

export function modelCacheDir(): string | undefined {
  return process.env.DYNASPLIT_CACHE_DIR || undefined;
}

/** Serves until SIGINT or SIGTERM, then closes what was started, in order; the command's exit code. */
export async function serveUntilSignal(logger: Logger, ...closers: (() => Promise<void>)[]): Promise<number> {
  logger.info({ signal: await untilSignal() }, 'stopping');
  for (const close of closers) await close();
  // Everything the command started is closed: a library's leftover (a NATS dial still waiting out its
  // timeout) must not hold the exit a supervisor waits for. Unref'd: a process already done exits now.
  setTimeout(() => process.exit(), EXIT_GRACE_MS).unref();
  return 0;
}

/** ms a serving command waits, once closed, for the event loop to drain before it exits anyway. */
const EXIT_GRACE_MS = 1_000;

/** Resolves when the process is asked to stop (SIGINT or SIGTERM). */
export function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (signal: string) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

export const METRICS_OPTION: OptionSpec = {
  type: 'string', value: 'STORE',
  description: 'where per-request metrics go: embedded (in-process, bounded) or influxdb (INFLUX_URL, INFLUX_TOKEN, INFLUX_ORG, INFLUX_BUCKET; or INFLUX_API=v1 with INFLUX_DB) (env DYNASPLIT_METRICS; default embedded)',
};

/** The metrics store named by --metrics / DYNASPLIT_METRICS, configured from the INFLUX_* variables. */
export function metricsStoreFlag(args: CommandArgs, logger: Logger): MetricsStore {
  const kind = flagOrEnv(args, 'metrics', 'DYNASPLIT_METRICS') ?? 'embedded';
  if (kind === 'embedded') return createMetricsStore('embedded');
  if (kind === 'influxdb') return createMetricsStore('influxdb', { ...parseInfluxEnv(process.env), logger });
  throw new DynasplitError(ErrorCodes.BAD_ARGS, `--metrics must be embedded or influxdb, got '${kind}'`);
}

export const PROFILE_OPTION: OptionSpec = {
  type: 'string', value: 'NAME',
  description: "device profile to run as: host (this machine, measured) or a profile to emulate (rpi4, jetson-nano, gpu-server, or a JSON file) (env DYNASPLIT_PROFILE; default host)",
};
export const ENERGY_OPTION: OptionSpec = {
  type: 'string', value: 'KIND',
  description: 'energy meter: modelled (from the profile), rapl (powercap counters) or mqtt (a Tasmota/Shelly plug; with --power-topic) (default modelled)',
};

export function energyMeterFlag(args: CommandArgs): 'modelled' | 'rapl' | 'mqtt' | undefined {
  const raw = flagOrEnv(args, 'energy-meter', 'DYNASPLIT_ENERGY_METER');
  if (raw === undefined || raw === 'modelled' || raw === 'rapl' || raw === 'mqtt') return raw;
  throw new DynasplitError(ErrorCodes.BAD_ARGS, `--energy-meter must be modelled, rapl or mqtt, got '${raw}'`);
}

/** TLS for mqtts:// brokers: a private CA and/or a client certificate (docs/security.md). */
export const MQTT_TLS_OPTIONS = {
  'mqtt-ca': { type: 'string', value: 'FILE', description: 'PEM CA that signed the broker certificate (env DYNASPLIT_MQTT_CA)' },
  'mqtt-cert': { type: 'string', value: 'FILE', description: 'PEM client certificate for the broker (env DYNASPLIT_MQTT_CERT)' },
  'mqtt-key': { type: 'string', value: 'FILE', description: 'PEM key of that certificate (env DYNASPLIT_MQTT_KEY)' },
} as const satisfies Record<string, OptionSpec>;

/** NATS nkey seed and TLS files for edge nodes and cloud workers (docs/security.md). */
export const NATS_AUTH_OPTIONS = {
  'nats-nkey-file': { type: 'string', value: 'FILE', description: 'file holding the NATS nkey seed (SU...) (env DYNASPLIT_NATS_NKEY_FILE)' },
  'nats-ca': { type: 'string', value: 'FILE', description: 'PEM CA of the NATS server (env DYNASPLIT_NATS_CA)' },
  'nats-cert': { type: 'string', value: 'FILE', description: 'PEM client certificate for NATS (env DYNASPLIT_NATS_CERT)' },
  'nats-key': { type: 'string', value: 'FILE', description: 'PEM key of that certificate (env DYNASPLIT_NATS_KEY)' },
} as const satisfies Record<string, OptionSpec>;

export function natsAuthFlags(args: CommandArgs): NatsAuth | undefined {
  const seedFile = flagOrEnv(args, 'nats-nkey-file', 'DYNASPLIT_NATS_NKEY_FILE');
  const tls = {
    caFile: flagOrEnv(args, 'nats-ca', 'DYNASPLIT_NATS_CA'),
    certFile: flagOrEnv(args, 'nats-cert', 'DYNASPLIT_NATS_CERT'),
    keyFile: flagOrEnv(args, 'nats-key', 'DYNASPLIT_NATS_KEY'),
  };
  const anyTls = Object.values(tls).some(Boolean);
  if (!seedFile && !anyTls) return undefined;
  let nkeySeed: string | undefined;
  if (seedFile) {
    try {
      nkeySeed = readFileSync(seedFile, 'utf8').trim();
    } catch (cause) {
      throw new DynasplitError(ErrorCodes.FILE_NOT_FOUND, `nkey seed file ${seedFile} cannot be read: ${(cause as Error).message}`, { cause });
    }
  }
  return { ...(nkeySeed ? { nkeySeed } : {}), ...(anyTls ? { tls } : {}) };
}

export async function mqttTlsFlags(args: CommandArgs): Promise<MqttTls | undefined> {
  const files = {
    caFile: flagOrEnv(args, 'mqtt-ca', 'DYNASPLIT_MQTT_CA'),
    certFile: flagOrEnv(args, 'mqtt-cert', 'DYNASPLIT_MQTT_CERT'),
    keyFile: flagOrEnv(args, 'mqtt-key', 'DYNASPLIT_MQTT_KEY'),
  };
  if (!files.caFile && !files.certFile && !files.keyFile) return undefined;
  return loadMqttTls(files);
}
