/**
 * `dynasplit broker`: run the MQTT broker until SIGINT or SIGTERM, then close it gracefully.
 * Options come from flags, then from DYNASPLIT_BROKER_* environment variables, then the defaults of
 * broker/options.ts; the environment is read here and nowhere else.
 */
import { pino, type Logger } from 'pino';
import { DEFAULT_HOST, DEFAULT_MAX_PACKET_BYTES, DEFAULT_PORT, startBroker, type BrokerOptions } from '../broker/index.ts';
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import { intOption, stringOption, type Command, type CommandArgs, type Io } from './command.ts';

const MIB = 1024 * 1024;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

type Env = Record<string, string | undefined>;

export const brokerCommand: Command = {
  path: ['broker'],
  summary: 'run the MQTT broker (aedes, with $share shared subscriptions) until SIGINT/SIGTERM',
  usage: '',
  positionals: { min: 0, max: 0 },
  options: {
    host: { type: 'string', value: 'HOST', description: `interface to listen on (env DYNASPLIT_BROKER_HOST; default ${DEFAULT_HOST})` },
    port: { type: 'string', value: 'PORT', description: `MQTT TCP port, 0 = any free port (env DYNASPLIT_BROKER_PORT; default ${DEFAULT_PORT})` },
    'ws-port': { type: 'string', value: 'PORT', description: 'also serve MQTT over WebSocket on this port (env DYNASPLIT_BROKER_WS_PORT; default: no WebSocket)' },
    'max-packet-mb': {
      type: 'string', value: 'MIB',
      description: `largest MQTT packet a client may send, in MiB (env DYNASPLIT_BROKER_MAX_PACKET_MB; default ${DEFAULT_MAX_PACKET_BYTES / MIB})`,
    },
    'log-level': { type: 'string', value: 'LEVEL', description: `${LOG_LEVELS.join(', ')} (env DYNASPLIT_LOG_LEVEL; default info)` },
  },
  details: [
    'Prints the URLs to connect to on stdout (one per line) and logs JSON lines on stderr.',
    'Clients share work with MQTT shared subscriptions: $share/GROUP/FILTER (see docs/broker.md).',
    'MQTT 3.1 and 3.1.1 clients only (aedes 1.x).',
  ].join('\n'),
  async run(args, io) {
    const { stopped, dispose } = onSignals(STOP_SIGNALS);
    try {
      return await serveBroker(args, io, process.env, stopped);
    } finally {
      dispose();
    }
  },
};

/**
 * Starts the broker, prints its URLs, waits for `stop` and closes the broker; resolves with the exit
 * code. `run` passes the process's environment and signals; tests pass their own.
 */
export async function serveBroker(args: CommandArgs, io: Io, env: Env, stop: Promise<string>): Promise<number> {
  const options = brokerOptionsFrom(args, env);
  const logger = stderrLogger(args, env, io);
  const broker = await startBroker(options, { logger });
  io.stdout(`${broker.url}\n${broker.wsUrl ? `${broker.wsUrl}\n` : ''}`);
  const reason = await stop;
  logger.info({ reason }, 'closing the broker');
  await broker.close();
  return 0;
}

export function brokerOptionsFrom(args: CommandArgs, env: Env): Partial<BrokerOptions> {
  const wsPort = args.values['ws-port'] !== undefined
    ? intOption(args, 'ws-port', 0)
    : envInt(env, 'DYNASPLIT_BROKER_WS_PORT');
  const maxPacketMb = intOption(args, 'max-packet-mb', envInt(env, 'DYNASPLIT_BROKER_MAX_PACKET_MB') ?? DEFAULT_MAX_PACKET_BYTES / MIB);
  if (maxPacketMb < 1) throw new DynasplitError(ErrorCodes.BAD_ARGS, '--max-packet-mb must be at least 1');
  return {
    host: stringOption(args, 'host') ?? envString(env, 'DYNASPLIT_BROKER_HOST') ?? DEFAULT_HOST,
    port: intOption(args, 'port', envInt(env, 'DYNASPLIT_BROKER_PORT') ?? DEFAULT_PORT),
    wsPort,
    maxPacketBytes: maxPacketMb * MIB,
  };
}

/** The root logger of this process: JSON lines through io.stderr, so stdout keeps only the URLs. */
function stderrLogger(args: CommandArgs, env: Env, io: Io): Logger {
  const level = stringOption(args, 'log-level') ?? envString(env, 'DYNASPLIT_LOG_LEVEL') ?? 'info';
  if (!LOG_LEVELS.includes(level)) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `--log-level must be one of ${LOG_LEVELS.join(', ')}, got '${level}'`);
  }
  return pino({ level }, { write: (line: string) => io.stderr(line) });
}

function envString(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function envInt(env: Env, name: string): number | undefined {
  const raw = envString(env, name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `${name} must be a non-negative integer, got '${raw}'`);
  }
  return value;
}

/** A promise of the first of `signals`; while listened to, they no longer kill the process. */
function onSignals(signals: NodeJS.Signals[]): { stopped: Promise<string>; dispose(): void } {
  let handler: (signal: NodeJS.Signals) => void = () => {};
  const stopped = new Promise<string>((resolve) => { handler = resolve; });
  for (const signal of signals) process.on(signal, handler);
  return { stopped, dispose: () => { for (const signal of signals) process.off(signal, handler); } };
}
