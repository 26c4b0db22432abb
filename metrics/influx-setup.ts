/**
 * The Influx store sets itself up at start, or says exactly what to do: a probe write of no points
 * (POST /write?db= for 1.x, /api/v2/write for 2.x/3.x; both answer it without storing anything) tells
 * a missing database or bucket (404), a refused password or token (401) and a missing write right
 * (403) apart from a server that is not there. A missing 1.x database is created (CREATE DATABASE is
 * a no-op when it exists) when the user may; otherwise, and for everything else that writing again
 * cannot fix, the answer is one DYNASPLIT_ERR_METRICS_STORE error naming the command that fixes it.
 */
import { DynasplitError, ErrorCodes, messageWithCauses, type Logger } from '../common/index.ts';
import type { ResolvedInfluxOptions } from './influx-options.ts';

/** An InfluxQL identifier in double quotes (InfluxQL spec, identifiers). */
export function identifier(name: string): string {
  return `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** What the store writes into: `database "x"` (1.x) or `bucket "b" of organization "o"` (2.x). */
function target(options: ResolvedInfluxOptions): string {
  return options.api === 'v1' ? `database "${options.database}"` : `bucket "${options.bucket}" of organization "${options.org}"`;
}

/**
 * The coded error for an HTTP answer that writing (or, with `access` 'read', querying) again cannot
 * fix (401, 403, 404), with the fix; undefined for any other status. Used by the start-up probe, by
 * the writer (a database dropped while the node runs) and by queries (the optimizer's reads).
 */
export function storeProblem(options: ResolvedInfluxOptions, status: number, body: string, access: 'write' | 'read' = 'write'): DynasplitError | undefined {
  const server = body.trim().slice(0, 200);
  const v1 = options.api === 'v1';
  const who = options.username ? `user "${options.username}"` : 'these credentials';
  const create = v1
    ? `CREATE DATABASE ${identifier(options.database!)} (as an admin, e.g. influx -execute 'CREATE DATABASE ${identifier(options.database!)}')`
    : `influx bucket create --name ${options.bucket} --org ${options.org}`;
  const read = access === 'read';
  // InfluxDB 1.x answers any unknown path with a plain "404 page not found": a 2.x write API there is no bucket missing.
  const noV2Api = !v1 && status === 404 && /^404 page not found/.test(server);
  const problems: Record<number, { what: string; fix: string }> = {
    401: v1
      ? { what: `InfluxDB refused ${who} (401)`, fix: 'set INFLUX_USERNAME and INFLUX_PASSWORD (or INFLUX_TOKEN) to a user of this server' }
      : { what: 'InfluxDB refused the token (401)', fix: `set INFLUX_TOKEN to a token with ${access} access to bucket ${options.bucket}` },
    403: v1
      ? { what: `${who} may not ${access} ${read ? 'from' : 'to'} ${target(options)} (403)`, fix: `GRANT ${read ? 'READ' : 'WRITE'} ON ${identifier(options.database!)} TO ${identifier(options.username ?? 'USER')}` }
      : { what: `the token may not ${access} ${read ? 'from' : 'to'} ${target(options)} (403)`, fix: `give the token ${access} access: influx auth create --org ${options.org} --${access}-bucket BUCKET_ID` },
    404: noV2Api
      ? { what: `the server has no InfluxDB 2.x write API (404 page not found): an InfluxDB 1.x`, fix: 'set INFLUX_API=v1 and INFLUX_DB (with INFLUX_USERNAME and INFLUX_PASSWORD where it checks them)' }
      : read && !v1
        ? { what: `InfluxQL queries of bucket "${options.bucket}" are not mapped (404)`, fix: `map it for InfluxQL: influx v1 dbrp create --db ${options.queryDatabase} --rp autogen --bucket-id BUCKET_ID --default` }
        : { what: `${target(options)} does not exist (404)`, fix: create },
  };
  const problem = problems[status];
  if (!problem) return undefined;
  return new DynasplitError(ErrorCodes.METRICS_STORE, `metrics store at ${options.url}: ${problem.what}; fix: ${problem.fix}${server ? ` [server: ${server}]` : ''}`, {
    details: { url: options.url, ...(v1 ? { database: options.database } : { bucket: options.bucket, org: options.org }), status, fix: problem.fix },
  });
}

interface Answer { status: number; body: string }

async function call(options: ResolvedInfluxOptions, path: string, params: Record<string, string>, body: string, signal?: AbortSignal): Promise<Answer> {
  const url = new URL(path, options.url);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
  if (options.token) headers.authorization = `Token ${options.token}`;
  else if (options.username) {
    url.searchParams.set('u', options.username);
    url.searchParams.set('p', options.password ?? '');
  }
  const timeout = AbortSignal.timeout(options.requestTimeoutMs);
  try {
    const response = await fetch(url, { method: 'POST', headers, body, signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
    return { status: response.status, body: await response.text() };
  } catch (cause) {
    throw new DynasplitError(ErrorCodes.TRANSPORT, `metrics store: InfluxDB at ${options.url} cannot be reached: ${messageWithCauses(cause)}`, {
      cause, retryable: true, details: { url: options.url },
    });
  }
}

/** A write of no points: the server checks credentials, rights and the target, and stores nothing. */
function probe(options: ResolvedInfluxOptions, signal?: AbortSignal): Promise<Answer> {
  return options.api === 'v1'
    ? call(options, '/write', { db: options.database! }, '', signal)
    : call(options, '/api/v2/write', { org: options.org!, bucket: options.bucket!, precision: 'ns' }, '', signal);
}

/** 2xx: fine. 400 on an empty body: the server got past credentials and target to the (empty) points. */
const accepted = (status: number): boolean => (status >= 200 && status < 300) || status === 400;

/**
 * Resolves when the store can take writes (creating a missing 1.x database, and logging so); rejects
 * with DYNASPLIT_ERR_METRICS_STORE when it cannot as configured, or DYNASPLIT_ERR_TRANSPORT
 * (retryable) when the server does not answer or answers with a server error.
 */
export async function setUpInflux(options: ResolvedInfluxOptions, logger: Logger, signal?: AbortSignal): Promise<void> {
  let answer = await probe(options, signal);
  if (answer.status === 404 && options.api === 'v1') {
    const created = await call(options, '/query', { q: `CREATE DATABASE ${identifier(options.database!)}` }, '', signal);
    // 1.x answers a refused statement 403 (or 200 with an error in the results on older servers).
    if (created.status === 200 && !/"error"/.test(created.body)) {
      logger.info({ database: options.database, url: options.url }, 'metrics database did not exist; created it');
      answer = await probe(options, signal);
    } else {
      const problem = storeProblem(options, 404, answer.body)!;
      throw new DynasplitError(ErrorCodes.METRICS_STORE, `${problem.message}; creating it was refused (${created.status} ${created.body.trim().slice(0, 200)})`, {
        details: problem.details,
      });
    }
  }
  if (accepted(answer.status)) return;
  const problem = storeProblem(options, answer.status, answer.body);
  if (problem) throw problem;
  throw new DynasplitError(ErrorCodes.TRANSPORT, `metrics store: InfluxDB at ${options.url} answered ${answer.status} ${answer.body.trim().slice(0, 200)}`, {
    retryable: true, details: { url: options.url, status: answer.status },
  });
}
