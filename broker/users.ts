/**
 * The broker's accounts: a users file (JSON), scrypt password hashes, and their validation.
 *
 * ```json
 * { "users": [ { "username": "cam-1", "passwordHash": "scrypt$16384$8$1$<salt>$<hash>", "role": "sensor" },
 *              { "username": "edge-a", "certificateCn": "edge-a", "role": "edge", "id": "edge-a" },
 *              { "username": "cam-2", "passwordHash": "scrypt$...", "role": "sensor", "maxPacketBytes": 65536 } ],
 *   "powerTopics": ["tele/#", "stat/#"] }
 * ```
 *
 * Hashes are scrypt (RFC 7914) with a random salt: `scrypt$N$r$p$salt$hash`, salt and hash in
 * base64. An account logs in with its password, with a client certificate whose CN is its
 * `certificateCn` (TLS listener only), or with either.
 */
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import { checkId } from '../schemas/index.ts';

export const ROLES = ['sensor', 'edge', 'cloud', 'optimizer', 'meter', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface UserAccount {
  username: string;
  role: Role;
  /** `scrypt$N$r$p$salt$hash`; absent: the account logs in with a client certificate only. */
  passwordHash?: string;
  /** CN of a client certificate (signed by the broker's CA) that logs in as this account. */
  certificateCn?: string;
  /** The sensor or edge id the account acts as; for sensor and edge accounts, default: the username. */
  id?: string;
  /**
   * bytes; the largest packet this account may send, in place of its role's bound (broker option
   * maxPacketBytesByRole), never more than the broker's maxPacketBytes. Default: the role's.
   */
  maxPacketBytes?: number;
}

export interface UsersConfig {
  users: UserAccount[];
  /**
   * Topic filters of smart-plug power readings: meters publish there, edge and cloud nodes read
   * them. Default: Tasmota's `tele/#` and `stat/#`, Shelly Gen1's `shellies/#`.
   */
  powerTopics: string[];
}

export const DEFAULT_POWER_TOPICS: readonly string[] = ['tele/#', 'stat/#', 'shellies/#'];

/** scrypt cost: N = 2^14, r = 8, p = 1 (16 MiB, ~50 ms per login on a small CPU); OWASP's floor is N = 2^17 with r = 8 at p = 1 for new systems, so raise N where logins are rare. */
export const DEFAULT_SCRYPT = Object.freeze({ N: 16_384, r: 8, p: 1 });
const SALT_BYTES = 16;
const KEY_BYTES = 32;
const USER_KEYS = new Set(['username', 'role', 'passwordHash', 'certificateCn', 'id', 'maxPacketBytes']);
/** bytes; the largest MQTT packet there is (MQTT 3.1.1 §2.2.3), as in ./options.ts. */
const MQTT_MAX_PACKET_BYTES = 1 + 4 + 268_435_455;

interface ScryptHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

function scrypt(password: string | Buffer, salt: Buffer, keyLength: number, params: { N: number; r: number; p: number }): Promise<Buffer> {
  // Node's default maxmem (32 MiB) is exactly 128·N·r at N = 2^14, r = 8; allow what N and r need.
  const options: ScryptOptions = { ...params, maxmem: 256 * params.N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scryptCallback(password, salt, keyLength, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** A new `scrypt$N$r$p$salt$hash` string for `password`. */
export async function hashPassword(password: string, params: { N: number; r: number; p: number } = DEFAULT_SCRYPT): Promise<string> {
  if (password.length === 0) throw new DynasplitError(ErrorCodes.BAD_ARGS, 'the password is empty');
  checkScryptParams(params.N, params.r, params.p);
  const salt = randomBytes(SALT_BYTES);
  const hash = await scrypt(password, salt, KEY_BYTES, params);
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64'), hash.toString('base64')].join('$');
}

/** Whether `password` matches `encoded`; compares in constant time. */
export async function verifyPassword(password: string | Buffer, encoded: string): Promise<boolean> {
  const parsed = parseHash(encoded);
  const actual = await scrypt(password, parsed.salt, parsed.hash.length, parsed);
  return timingSafeEqual(actual, parsed.hash);
}

/** Spends a login's worth of scrypt on nothing, so unknown usernames take as long as wrong passwords. */
export async function burnPasswordCheck(password: string | Buffer): Promise<void> {
  await scrypt(password, randomBytes(SALT_BYTES), KEY_BYTES, DEFAULT_SCRYPT);
}

export function parseHash(encoded: string): ScryptHash {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') throw badHash('expected scrypt$N$r$p$salt$hash');
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  checkScryptParams(N, r, p);
  const salt = Buffer.from(parts[4]!, 'base64');
  const hash = Buffer.from(parts[5]!, 'base64');
  if (salt.length < 8) throw badHash('the salt must be at least 8 bytes');
  if (hash.length < 16) throw badHash('the hash must be at least 16 bytes');
  return { N, r, p, salt, hash };
}

function checkScryptParams(N: number, r: number, p: number): void {
  // N a power of two (RFC 7914 §2); bounds keep one login under a second and ~1 GiB.
  if (!Number.isInteger(N) || N < 2 || N > 2 ** 20 || (N & (N - 1)) !== 0) throw badHash(`N must be a power of two from 2 to 2^20, got ${N}`);
  if (!Number.isInteger(r) || r < 1 || r > 32) throw badHash(`r must be an integer from 1 to 32, got ${r}`);
  if (!Number.isInteger(p) || p < 1 || p > 16) throw badHash(`p must be an integer from 1 to 16, got ${p}`);
}

function badHash(rule: string): DynasplitError {
  return new DynasplitError(ErrorCodes.BAD_ARGS, `bad password hash: ${rule}`);
}

/** Reads and validates a users file; FILE_NOT_FOUND when missing, BAD_ARGS naming the first problem. */
export async function loadUsersFile(file: string): Promise<UsersConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new DynasplitError(ErrorCodes.FILE_NOT_FOUND, `cannot read the users file ${file}: ${(cause as Error).message}`,
      { cause, details: { file } });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `the users file ${file} is not JSON: ${(cause as Error).message}`, { cause, details: { file } });
  }
  try {
    return parseUsersConfig(json);
  } catch (err) {
    if (err instanceof DynasplitError) throw new DynasplitError(err.code, `users file ${file}: ${err.message}`, { cause: err, details: { file } });
    throw err;
  }
}

/** Validates the parsed JSON of a users file: unique usernames and CNs, known roles, valid ids and hashes. */
export function parseUsersConfig(json: unknown): UsersConfig {
  if (!isObject(json) || !Array.isArray(json.users)) throw bad('expected { "users": [ ... ] }');
  const extra = Object.keys(json).find((key) => key !== 'users' && key !== 'powerTopics');
  if (extra !== undefined) throw bad(`unknown key '${extra}'`);
  const powerTopics = json.powerTopics ?? [...DEFAULT_POWER_TOPICS];
  if (!Array.isArray(powerTopics) || !powerTopics.every((t) => typeof t === 'string' && validFilter(t))) {
    throw bad('powerTopics must be a list of MQTT topic filters');
  }
  const users = json.users.map((entry, i) => parseUser(entry, i));
  const seen = new Set<string>();
  const cns = new Set<string>();
  for (const user of users) {
    if (seen.has(user.username)) throw bad(`username '${user.username}' appears twice`);
    seen.add(user.username);
    if (user.certificateCn !== undefined) {
      if (cns.has(user.certificateCn)) throw bad(`certificateCn '${user.certificateCn}' appears twice`);
      cns.add(user.certificateCn);
    }
  }
  return { users, powerTopics: powerTopics as string[] };
}

function parseUser(entry: unknown, index: number): UserAccount {
  const where = `users[${index}]`;
  if (!isObject(entry)) throw bad(`${where} is not an object`);
  const extra = Object.keys(entry).find((key) => !USER_KEYS.has(key));
  if (extra !== undefined) throw bad(`${where}: unknown key '${extra}'`);
  const { username, role, passwordHash, certificateCn, id, maxPacketBytes } = entry;
  if (typeof username !== 'string' || username.length === 0 || username.length > 256) throw bad(`${where}: username must be a non-empty string`);
  if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) throw bad(`${where} (${username}): role must be one of ${ROLES.join(', ')}`);
  if (passwordHash === undefined && certificateCn === undefined) throw bad(`${where} (${username}): needs a passwordHash, a certificateCn or both`);
  if (passwordHash !== undefined) {
    if (typeof passwordHash !== 'string') throw bad(`${where} (${username}): passwordHash must be a string`);
    parseHash(passwordHash);
  }
  if (certificateCn !== undefined && (typeof certificateCn !== 'string' || certificateCn.length === 0)) {
    throw bad(`${where} (${username}): certificateCn must be a non-empty string`);
  }
  if (id !== undefined && typeof id !== 'string') throw bad(`${where} (${username}): id must be a string`);
  // 1 KiB floor, as for the broker's maxPacketBytes: a SUBSCRIBE or a will must still fit.
  if (maxPacketBytes !== undefined && (typeof maxPacketBytes !== 'number' || !Number.isInteger(maxPacketBytes)
    || maxPacketBytes < 1024 || maxPacketBytes > MQTT_MAX_PACKET_BYTES)) {
    throw bad(`${where} (${username}): maxPacketBytes must be an integer from 1024 to ${MQTT_MAX_PACKET_BYTES}`);
  }
  const user: UserAccount = { username, role: role as Role };
  if (maxPacketBytes !== undefined) user.maxPacketBytes = maxPacketBytes;
  if (passwordHash !== undefined) user.passwordHash = passwordHash as string;
  if (certificateCn !== undefined) user.certificateCn = certificateCn as string;
  // Sensors and edge nodes act under an id that becomes a topic level: it must be a valid one.
  const actsAs = id ?? (role === 'sensor' || role === 'edge' ? username : undefined);
  if (actsAs !== undefined) user.id = checkId(role === 'sensor' ? 'sensor' : 'edge', actsAs as string);
  return user;
}

/** A topic filter as MQTT 3.1.1 §4.7.1 allows it: `#` last and alone in its level, `+` alone in its level. */
function validFilter(filter: string): boolean {
  if (filter.length === 0 || filter.startsWith('$')) return false;
  const levels = filter.split('/');
  return levels.every((level, i) => (level.includes('#') ? level === '#' && i === levels.length - 1 : !level.includes('+') || level === '+'));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function bad(message: string): DynasplitError {
  return new DynasplitError(ErrorCodes.BAD_ARGS, message);
}
