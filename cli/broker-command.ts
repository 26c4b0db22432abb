/**
 * `dynasplit broker`: run the MQTT broker until SIGINT or SIGTERM, then close it gracefully.
 * Options come from flags, then from DYNASPLIT_BROKER_* environment variables, then the defaults of
 * broker/options.ts; the environment is read here and nowhere else.
 */
import {
  DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_DRAIN_TIMEOUT_MS, DEFAULT_HOST, DEFAULT_MAX_CONNECT_BYTES, DEFAULT_MAX_PACKET_BYTES, DEFAULT_PORT, DEFAULT_SCRYPT, DEFAULT_SENSOR_MAX_PACKET_BYTES, DEFAULT_SENSOR_PUBLISH_BYTES_PER_SECOND, hashPassword, loadUsersFile, mosquittoAcl, parseUsersConfig, ROLES,
  startBroker, type BrokerOptions,
} from '../broker/index.ts';
import { DynasplitError, ErrorCodes, LOG_FORMATS, rootLogger, type LogFormat, type Logger } from '../common/index.ts';
import { intOption, numeric, stringOption, type Command, type CommandArgs, type Io } from './command.ts';

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
    'role-max-packet-kb': {
      type: 'string', multiple: true, value: 'ROLE=KIB',
      description: 'largest MQTT packet an account of ROLE may send once logged in (--users), in KiB, e.g. sensor=64; repeatable '
        + `(env DYNASPLIT_BROKER_ROLE_MAX_PACKET_KB, comma-separated; default sensor=${DEFAULT_SENSOR_MAX_PACKET_BYTES / 1024}, the rest --max-packet-mb)`,
    },
    'role-publish-kb-per-s': {
      type: 'string', multiple: true, value: 'ROLE=KIB',
      description: 'KiB per second an account of ROLE may publish once logged in (--users), with a 2 s burst; more closes its connection; '
        + `repeatable (env DYNASPLIT_BROKER_ROLE_PUBLISH_KB_PER_S, comma-separated; default sensor=${DEFAULT_SENSOR_PUBLISH_BYTES_PER_SECOND / 1024}, other roles unbounded)`,
    },
    'max-connect-kb': {
      type: 'string', value: 'KIB',
      description: `bytes a connection may send before its login is accepted, in KiB (env DYNASPLIT_BROKER_MAX_CONNECT_KB; default ${DEFAULT_MAX_CONNECT_BYTES / 1024})`,
    },
    'connect-timeout-ms': {
      type: 'string', value: 'MS',
      description: `close a connection without a whole CONNECT after this long (env DYNASPLIT_BROKER_CONNECT_TIMEOUT_MS; default ${DEFAULT_CONNECT_TIMEOUT_MS})`,
    },
    'max-queue-mb': {
      type: 'string', value: 'MIB',
      description: 'disconnect a client with more unsent bytes queued than this, in MiB (env DYNASPLIT_BROKER_MAX_QUEUE_MB; default twice --max-packet-mb)',
    },
    'drain-timeout-ms': {
      type: 'string', value: 'MS',
      description: `disconnect a client whose queued bytes make no progress for this long (env DYNASPLIT_BROKER_DRAIN_TIMEOUT_MS; default ${DEFAULT_DRAIN_TIMEOUT_MS})`,
    },
    'max-keepalive': {
      type: 'string', value: 'S',
      description: 'refuse a client whose keepalive is 0 or over S seconds, as Mosquitto\'s max_keepalive (env DYNASPLIT_BROKER_MAX_KEEPALIVE_S; default: any)',
    },
    'tls-port': { type: 'string', value: 'PORT', description: 'also serve MQTT over TLS on this port, e.g. 8883; needs --cert and --key (env DYNASPLIT_BROKER_TLS_PORT)' },
    cert: { type: 'string', value: 'FILE', description: 'PEM certificate chain of the TLS listener (env DYNASPLIT_BROKER_CERT)' },
    key: { type: 'string', value: 'FILE', description: 'PEM private key of the TLS listener (env DYNASPLIT_BROKER_KEY)' },
    ca: { type: 'string', value: 'FILE', description: 'PEM CA of client certificates the TLS listener accepts (env DYNASPLIT_BROKER_CA)' },
    users: {
      type: 'string', value: 'FILE',
      description: 'JSON users file: turns on logins and ACLs (env DYNASPLIT_BROKER_USERS_FILE; default: none, an OPEN broker for development only)',
    },
    persistence: {
      type: 'string', value: 'DIR',
      description: 'keep sessions, subscriptions, retained and queued QoS 1/2 messages in this LevelDB directory, so they survive a restart '
        + '(env DYNASPLIT_BROKER_PERSISTENCE; default: in memory, lost when the broker stops)',
    },
    'log-level': { type: 'string', value: 'LEVEL', description: `${LOG_LEVELS.join(', ')} (env DYNASPLIT_LOG_LEVEL; default info)` },
  },
  details: [
    'Prints the URLs to connect to on stdout (one per line) and logs on stderr (JSON lines unless on a terminal).',
    'Clients share work with MQTT shared subscriptions: $share/GROUP/FILTER (see docs/broker.md).',
    'MQTT 3.1 and 3.1.1 clients only (aedes 1.x).',
    'Without --persistence, persistent sessions and their queued messages live in memory and end with the process.',
    'Without --users anyone who reaches the broker may publish and subscribe to anything: see docs/security.md.',
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
  io.stdout([broker.url, broker.wsUrl, broker.tlsUrl].filter((url) => url !== undefined).map((url) => `${url}\n`).join(''));
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
  const persistenceDir = stringOption(args, 'persistence') ?? envString(env, 'DYNASPLIT_BROKER_PERSISTENCE');
  const maxConnectKb = optionalInt(args, 'max-connect-kb', env, 'DYNASPLIT_BROKER_MAX_CONNECT_KB');
  const maxQueueMb = optionalInt(args, 'max-queue-mb', env, 'DYNASPLIT_BROKER_MAX_QUEUE_MB');
  return {
    host: stringOption(args, 'host') ?? envString(env, 'DYNASPLIT_BROKER_HOST') ?? DEFAULT_HOST,
    port: intOption(args, 'port', envInt(env, 'DYNASPLIT_BROKER_PORT') ?? DEFAULT_PORT),
    wsPort,
    maxPacketBytes: maxPacketMb * MIB,
    maxPacketBytesByRole: roleKib(args, 'role-max-packet-kb', env, 'DYNASPLIT_BROKER_ROLE_MAX_PACKET_KB'),
    publishBytesPerSecondByRole: roleKib(args, 'role-publish-kb-per-s', env, 'DYNASPLIT_BROKER_ROLE_PUBLISH_KB_PER_S'),
    maxConnectBytes: maxConnectKb === undefined ? undefined : maxConnectKb * 1024,
    connectTimeoutMs: optionalInt(args, 'connect-timeout-ms', env, 'DYNASPLIT_BROKER_CONNECT_TIMEOUT_MS'),
    maxQueueBytes: maxQueueMb === undefined ? undefined : maxQueueMb * MIB,
    drainTimeoutMs: optionalInt(args, 'drain-timeout-ms', env, 'DYNASPLIT_BROKER_DRAIN_TIMEOUT_MS'),
    maxKeepaliveS: optionalInt(args, 'max-keepalive', env, 'DYNASPLIT_BROKER_MAX_KEEPALIVE_S'),
    tlsPort: args.values['tls-port'] !== undefined ? intOption(args, 'tls-port', 0) : envInt(env, 'DYNASPLIT_BROKER_TLS_PORT'),
    certFile: stringOption(args, 'cert') ?? envString(env, 'DYNASPLIT_BROKER_CERT'),
    keyFile: stringOption(args, 'key') ?? envString(env, 'DYNASPLIT_BROKER_KEY'),
    caFile: stringOption(args, 'ca') ?? envString(env, 'DYNASPLIT_BROKER_CA'),
    usersFile: stringOption(args, 'users') ?? envString(env, 'DYNASPLIT_BROKER_USERS_FILE'),
    persistence: persistenceDir === undefined ? undefined : { dir: persistenceDir },
  };
}

/**
 * `--role-max-packet-kb sensor=64 --role-max-packet-kb meter=4` (or the environment's comma list) in
 * bytes per role; broker/options.ts checks the roles and the bounds.
 */
function roleKib(args: CommandArgs, flag: string, env: Env, name: string): Partial<Record<string, number>> | undefined {
  const given = args.values[flag];
  const entries = Array.isArray(given) && given.length > 0 ? given.map(String) : envString(env, name)?.split(',').map((entry) => entry.trim());
  if (entries === undefined) return undefined;
  return Object.fromEntries(entries.map((entry) => {
    const [role, kb] = entry.split('=');
    const n = Number(kb);
    if (!role || kb === undefined || !Number.isInteger(n) || n <= 0) {
      throw new DynasplitError(ErrorCodes.BAD_ARGS, `--${flag} takes ROLE=KIB (a whole number of KiB), got '${entry}'`);
    }
    return [role, n * 1024];
  }));
}

/**
 * `dynasplit broker hash-password`: an scrypt hash for a users file, from a password read on stdin
 * (never from argv, where `ps` and shell history would show it). With --username and --role it
 * prints a whole users-file entry, checked by the same validation the broker applies.
 */
export const brokerHashPasswordCommand: Command = {
  path: ['broker', 'hash-password'],
  summary: 'hash a password (read from stdin) for the broker\'s users file',
  usage: '',
  positionals: { min: 0, max: 0 },
  options: {
    username: { type: 'string', value: 'NAME', description: 'print a users-file entry for this account instead of the bare hash' },
    role: { type: 'string', value: 'ROLE', description: `the entry's role: ${ROLES.join(', ')}` },
    id: { type: 'string', value: 'ID', description: 'the sensor or edge id the account acts as (default: the username)' },
    'certificate-cn': { type: 'string', value: 'CN', description: 'also let a client certificate with this CN log in as the account' },
    'log2-n': { type: 'string', value: 'K', description: `scrypt cost N = 2^K (default ${Math.log2(DEFAULT_SCRYPT.N)})` },
  },
  details: [
    'The first line of stdin is the password; the hash (scrypt$N$r$p$salt$hash) goes to stdout.',
    'Example: printf %s "$PASSWORD" | dynasplit broker hash-password --username cam-1 --role sensor',
  ].join('\n'),
  async run(args, io) {
    if (process.stdin.isTTY) io.stderr('password (echoed; end with Enter): ');
    io.stdout(`${await hashPasswordOutput(args, await readFirstLine(process.stdin))}\n`);
    return 0;
  },
};

/** `dynasplit broker mosquitto-acl USERS_FILE`: the same ACL as an acl_file for Mosquitto 2.x. */
export const brokerMosquittoAclCommand: Command = {
  path: ['broker', 'mosquitto-acl'],
  summary: 'print the ACL of a users file as a Mosquitto acl_file',
  usage: 'USERS_FILE',
  positionals: { min: 1, max: 1 },
  options: {},
  details: 'Passwords are not converted: give Mosquitto a password_file made with mosquitto_passwd (docs/security.md).',
  async run(args, io) {
    io.stdout(mosquittoAcl(await loadUsersFile(args.positionals[0]!)));
    return 0;
  },
};

/** The broker's helper commands; cli/main.ts lists them before `brokerCommand`, whose path is their prefix. */
export const brokerToolCommands: Command[] = [brokerHashPasswordCommand, brokerMosquittoAclCommand];

/** The hash, or a users-file entry as one JSON line; BAD_ARGS for an empty password or a bad entry. */
export async function hashPasswordOutput(args: CommandArgs, password: string): Promise<string> {
  const log2N = intOption(args, 'log2-n', Math.log2(DEFAULT_SCRYPT.N));
  if (log2N < 10 || log2N > 20) throw new DynasplitError(ErrorCodes.BAD_ARGS, `--log2-n must be from 10 to 20, got ${log2N}`);
  const passwordHash = await hashPassword(password, { ...DEFAULT_SCRYPT, N: 2 ** log2N });
  const username = stringOption(args, 'username');
  if (username === undefined) {
    if (args.values.role !== undefined || args.values.id !== undefined || args.values['certificate-cn'] !== undefined) {
      throw new DynasplitError(ErrorCodes.BAD_ARGS, '--role, --id and --certificate-cn describe an entry: give --username too');
    }
    return passwordHash;
  }
  const entry: Record<string, string> = { username, passwordHash, role: stringOption(args, 'role') ?? '' };
  const id = stringOption(args, 'id');
  const cn = stringOption(args, 'certificate-cn');
  if (id !== undefined) entry.id = id;
  if (cn !== undefined) entry.certificateCn = cn;
  parseUsersConfig({ users: [entry] });
  return JSON.stringify(entry);
}

async function readFirstLine(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) {
    text += chunk.toString();
    if (text.includes('\n')) break;
  }
  return text.split(/\r?\n/)[0]!;
}

/**
 * The root logger of this process, through io.stderr so stdout keeps only the URLs: readable lines on
 * a terminal, JSON lines otherwise or with --log-format json.
 */
function stderrLogger(args: CommandArgs, env: Env, io: Io): Logger {
  const level = stringOption(args, 'log-level') ?? envString(env, 'DYNASPLIT_LOG_LEVEL') ?? 'info';
  if (!LOG_LEVELS.includes(level)) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `--log-level must be one of ${LOG_LEVELS.join(', ')}, got '${level}'`);
  }
  const format = stringOption(args, 'log-format') ?? envString(env, 'DYNASPLIT_LOG_FORMAT') ?? (io.isTTY ? 'pretty' : 'json');
  if (!(LOG_FORMATS as readonly string[]).includes(format)) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `--log-format must be one of ${LOG_FORMATS.join(', ')}, got '${format}'`);
  }
  return rootLogger(level, { format: format as LogFormat, colors: io.isTTY && !envString(env, 'NO_COLOR'), write: (line) => io.stderr(line) });
}

function envString(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

/** The flag, else the environment variable, else undefined (broker/options.ts has the default). */
function optionalInt(args: CommandArgs, flag: string, env: Env, name: string): number | undefined {
  return args.values[flag] !== undefined ? intOption(args, flag, 0) : envInt(env, name);
}

function envInt(env: Env, name: string): number | undefined {
  const raw = envString(env, name);
  if (raw === undefined) return undefined;
  const value = numeric(raw);
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
