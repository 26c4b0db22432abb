/**
 * Options of the InfluxDB store, their defaults (with units) and the one function that validates
 * them; parseInfluxEnv maps the INFLUX_* variables onto them for the CLI (the only reader of the
 * environment).
 */
import { DynasplitError, ErrorCodes, requirePositiveIntegers, stripUndefined, type Logger } from '../common/index.ts';

/** 'v2': the official client's v2 write API (InfluxDB 2.x, 3.x, Cloud, 1.8+). 'v1': POST /write?db= (1.x). */
export type InfluxApi = 'v1' | 'v2';

export interface InfluxStoreOptions {
  /** Server base URL, e.g. http://127.0.0.1:8086. */
  url: string;
  api: InfluxApi;
  /** v2: API token (sent as `Authorization: Token ...` on writes and queries). */
  token?: string;
  /** v2: organization and bucket written to. */
  org?: string;
  bucket?: string;
  /** v1: database written to; v2: database (DBRP name) queried over /query, default the bucket. */
  database?: string;
  /** v1: credentials, sent as the `u`/`p` query parameters. */
  username?: string;
  password?: string;
  /** Points per write request. Default 500. */
  batchSize?: number;
  /** ms between writes of a partial batch. Default 1000. */
  flushIntervalMs?: number;
  /** Unsent points kept while the database is unreachable; the oldest are dropped beyond it. Default 50,000. */
  maxBufferedPoints?: number;
  /** ms before a write or query request is abandoned. Default 10,000. */
  requestTimeoutMs?: number;
  /** ms; upper bound of the exponential backoff between failed writes. Default 5,000. */
  maxRetryDelayMs?: number;
  /** ms close() waits for unsent points before dropping (and counting) them. Default 10,000. */
  closeTimeoutMs?: number;
  /**
   * ms between tries of a store that refused writes as configured while the node ran (a database
   * dropped, rights revoked): points meanwhile are dropped and counted; once the operator has fixed
   * it, writes resume without a restart. Default 30,000.
   */
  brokenRetryMs?: number;
  logger?: Logger;
}

export const INFLUX_DEFAULTS = {
  batchSize: 500,
  flushIntervalMs: 1_000,
  maxBufferedPoints: 50_000,
  requestTimeoutMs: 10_000,
  maxRetryDelayMs: 5_000,
  closeTimeoutMs: 10_000,
  brokenRetryMs: 30_000,
} as const;

type Defaulted = keyof typeof INFLUX_DEFAULTS;
export type ResolvedInfluxOptions = Omit<InfluxStoreOptions, Defaulted> & Required<Pick<InfluxStoreOptions, Defaulted>> & {
  /** The database named in /query requests. */
  queryDatabase: string;
};

function badArgs(message: string): DynasplitError {
  return new DynasplitError(ErrorCodes.BAD_ARGS, `influxdb metrics store: ${message}`);
}

/** Applies the defaults and validates; throws DYNASPLIT_ERR_BAD_ARGS naming what is wrong or missing. */
export function resolveInfluxOptions(options: InfluxStoreOptions): ResolvedInfluxOptions {
  const resolved = { ...INFLUX_DEFAULTS, ...stripUndefined(options) } as ResolvedInfluxOptions;
  if (!resolved.url) throw badArgs('url is required');
  try {
    new URL(resolved.url);
  } catch (cause) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `influxdb metrics store: url is not a URL: ${resolved.url}`, { cause });
  }
  if (resolved.api === 'v2') {
    for (const key of ['token', 'org', 'bucket'] as const) if (!resolved[key]) throw badArgs(`api v2 needs ${key}`);
    resolved.queryDatabase = resolved.database || resolved.bucket!;
  } else if (resolved.api === 'v1') {
    if (!resolved.database) throw badArgs('api v1 needs database');
    resolved.queryDatabase = resolved.database;
  } else {
    throw badArgs(`api must be 'v1' or 'v2', got ${String(resolved.api)}`);
  }
  requirePositiveIntegers('influxdb metrics store', resolved, ['batchSize', 'flushIntervalMs', 'maxBufferedPoints', 'requestTimeoutMs', 'maxRetryDelayMs', 'closeTimeoutMs', 'brokenRetryMs']);
  if (resolved.batchSize > resolved.maxBufferedPoints) throw badArgs('batchSize must not exceed maxBufferedPoints');
  return resolved;
}

/**
 * INFLUX_URL with INFLUX_TOKEN, INFLUX_ORG, INFLUX_BUCKET (v2, the default), or INFLUX_API=v1 with
 * INFLUX_DB (+ INFLUX_USERNAME/INFLUX_PASSWORD). INFLUX_DB with v2 names the database queried.
 */
export function parseInfluxEnv(env: Record<string, string | undefined>): InfluxStoreOptions {
  const api = env.INFLUX_API || 'v2';
  if (api !== 'v1' && api !== 'v2') throw badArgs(`INFLUX_API must be v1 or v2, got ${api}`);
  if (!env.INFLUX_URL) throw badArgs('INFLUX_URL is required');
  const options: InfluxStoreOptions = {
    url: env.INFLUX_URL,
    api,
    token: env.INFLUX_TOKEN || undefined,
    org: env.INFLUX_ORG || undefined,
    bucket: env.INFLUX_BUCKET || undefined,
    database: env.INFLUX_DB || undefined,
    username: env.INFLUX_USERNAME || undefined,
    password: env.INFLUX_PASSWORD || undefined,
  };
  const required = api === 'v2' ? (['INFLUX_TOKEN', 'INFLUX_ORG', 'INFLUX_BUCKET'] as const) : (['INFLUX_DB'] as const);
  for (const name of required) if (!env[name]) throw badArgs(`INFLUX_API=${api} needs ${name}`);
  resolveInfluxOptions(options); // the remaining checks (URL syntax)
  return stripUndefined(options) as InfluxStoreOptions;
}
