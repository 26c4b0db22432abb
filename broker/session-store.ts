/**
 * Where the broker keeps MQTT session state (MQTT 3.1.1 §4.1): the subscriptions of persistent
 * sessions, their queued and in-flight QoS 1/2 messages, inbound QoS 2 state, wills and retained
 * messages. By default aedes' in-memory persistence (aedes-persistence), gone when the process ends;
 * with `persistence: { dir }`, aedes-persistence-level over a LevelDB directory, so a restarted broker
 * carries on where the last one stopped. aedes gets either through ./persistence.ts's decorator.
 *
 * aedes-persistence-level 9.2 (asyncPersistence.js) stores msgpack-lite Buffers and asks for
 * `valueEncoding: 'buffer'` on each call; the database is opened with the same default so that no
 * value ever goes through level's utf8 encoding. Its queues of persistent sessions take
 * ./level-outgoing.ts's leaner path (one write of a message's payload instead of three). Keys are
 * utf8 strings, e.g. `subscriptions:<encodeURIComponent(clientId)>:<topic filter>`.
 */
import { Level } from 'level';
import aedesPersistence from 'aedes-persistence';
import type { Logger } from 'pino';
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import { leanLevelPersistence } from './level-outgoing.ts';
import type { PersistenceOptions } from './options.ts';
import type { AsyncPersistence } from './persistence.ts';
import { SHARE_PREFIX } from './topic-filter.ts';

/** A subscription of a persistent session, as stored. */
export interface StoredSubscription {
  clientId: string;
  /** the topic filter as the client sent it, `$share/GROUP/FILTER` included */
  topic: string;
  qos: number;
}

/**
 * Which account holds the stored session of each client id (./auth.ts), kept with the sessions so
 * that a restarted broker still knows it.
 */
export interface SessionOwners {
  get(clientId: string): Promise<string | undefined>;
  set(clientId: string, username: string): Promise<void>;
  delete(clientId: string): Promise<void>;
}

export interface SessionStore {
  /** the store, for ./persistence.ts's BrokerPersistence to wrap */
  readonly persistence: AsyncPersistence;
  /** the account of each stored session, by client id */
  readonly owners: SessionOwners;
  /** where it lives, for logs; 'memory' without a directory */
  readonly location: string;
  /** The stored `$share/...` subscriptions of every persistent session (none in memory at start). */
  sharedSubscriptions(): Promise<StoredSubscription[]>;
  /** Closes the database; idempotent. Call after aedes has closed. */
  close(): Promise<void>;
}

/**
 * aedes' own default (aedes.js listen). aedes-persistence is CommonJS whose types declare an ES
 * default export, and only the callback forms: the module itself is the factory.
 */
const memoryPersistence = aedesPersistence as unknown as () => AsyncPersistence;

/** The sublevel of session owners: client id -> username. */
const OWNERS_SUBLEVEL = 'session-owners';

/** aedes-persistence-level's key prefix of stored subscriptions (asyncPersistence.js SUBSCRIPTIONS). */
const SUBSCRIPTIONS = 'subscriptions:';

/**
 * Opens the store: in memory without options, else the LevelDB directory (created when missing).
 * A directory another broker holds open fails with DYNASPLIT_ERR_TRANSPORT, details.locked true.
 */
export async function openSessionStore(options: PersistenceOptions | undefined, logger: Logger): Promise<SessionStore> {
  if (options === undefined) {
    const persistence = memoryPersistence();
    const owners = new Map<string, string>();
    return {
      persistence, location: 'memory', sharedSubscriptions: async () => [], close: async () => {},
      owners: {
        get: async (clientId) => owners.get(clientId),
        set: async (clientId, username) => { owners.set(clientId, username); },
        delete: async (clientId) => { owners.delete(clientId); },
      },
    };
  }
  const db = new Level<string, Buffer>(options.dir, { keyEncoding: 'utf8', valueEncoding: 'buffer' });
  try {
    await db.open();
  } catch (cause) {
    throw openError(options.dir, cause);
  }
  const persistence = leanLevelPersistence(db);
  logger.info({ persistenceDir: options.dir }, 'sessions and queued messages persist in LevelDB');
  let closing: Promise<void> | undefined;
  // A sublevel's keys start with '!session-owners!', outside every prefix aedes-persistence-level reads.
  const owners = db.sublevel<string, string>(OWNERS_SUBLEVEL, { valueEncoding: 'utf8' });
  return {
    persistence,
    location: options.dir,
    owners: {
      get: (clientId) => owners.get(clientId),
      set: (clientId, username) => owners.put(clientId, username),
      delete: (clientId) => owners.del(clientId),
    },
    sharedSubscriptions: () => storedSharedSubscriptions(db, persistence),
    close: () => (closing ??= persistence.destroy().then(() => {})),
  };
}

/**
 * aedes-persistence has no call that lists every stored subscription, so the client ids come from
 * the keys (`subscriptions:<client>:<filter>`; the id is URI-encoded, so its first ':' ends it) and
 * the subscriptions themselves from `subscriptionsByClient`, the persistence's own reader.
 */
async function storedSharedSubscriptions(db: Level<string, Buffer>, persistence: AsyncPersistence): Promise<StoredSubscription[]> {
  const clientIds = new Set<string>();
  for await (const key of db.keys({ gte: SUBSCRIPTIONS, lt: 'subscriptions;' })) {
    const rest = key.slice(SUBSCRIPTIONS.length);
    const end = rest.indexOf(':');
    if (end > 0 && rest.startsWith(SHARE_PREFIX, end + 1)) clientIds.add(decodeURIComponent(rest.slice(0, end)));
  }
  const found: StoredSubscription[] = [];
  for (const clientId of clientIds) {
    for (const sub of await persistence.subscriptionsByClient({ id: clientId })) {
      if (sub.topic.startsWith(SHARE_PREFIX)) found.push({ clientId, topic: sub.topic, qos: sub.qos });
    }
  }
  return found;
}

function openError(dir: string, cause: unknown): DynasplitError {
  // abstract-level: LEVEL_DATABASE_NOT_OPEN, caused by classic-level's LEVEL_LOCKED when another
  // process (or another handle in this one) holds the directory's LOCK file.
  const locked = (cause as { cause?: { code?: unknown } }).cause?.code === 'LEVEL_LOCKED';
  const reason = locked
    ? 'it is in use by another broker (LevelDB lock held); stop that broker or give this one its own directory'
    : ((cause as { cause?: Error }).cause ?? (cause as Error)).message;
  return new DynasplitError(ErrorCodes.TRANSPORT, `broker cannot open its persistence directory ${dir}: ${reason}`,
    { cause, details: { persistenceDir: dir, locked } });
}
