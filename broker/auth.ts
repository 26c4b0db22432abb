/**
 * Authentication and authorization on aedes' hooks, from a users file (./users.ts) and the rules of
 * ./acl.ts. broker.ts composes these hooks with the reserved-topic check and the shared-subscription
 * hooks; without a users file none of this runs and the broker is open (development only).
 *
 * aedes 1.2 behaviour this relies on (verified in its source):
 * - authenticate (lib/handlers/connect.js): an error with `returnCode` 2-5 is sent as that CONNACK
 *   return code, then the connection is closed [MQTT-3.2.2-5]; it runs before the session's
 *   subscriptions are restored, and the restore calls authorizeSubscribe again.
 * - authorizePublish (lib/handlers/publish.js): an error closes the connection, at any QoS, before
 *   any PUBACK — MQTT 3.1.1 §3.3.5 allows either that or a positive ack that drops the message
 *   (Mosquitto's choice); a 3.1.1 client cannot be told. The same hook vets a client's will when it
 *   goes (lib/client.js close), and a refused will is simply not sent.
 * - authorizeSubscribe: `callback(null, null)` grants 0x80, failure, in the SUBACK (§3.9.3).
 * - authorizeForward runs for every delivery, queued and retained ones included.
 */
import { TLSSocket } from 'node:tls';
import type { Aedes, AedesPublishPacket, AuthenticateError, Client, PublishPacket, Subscription } from 'aedes';
import type { Logger } from 'pino';
import { mayPublish, mayRead, maySubscribe, permissionsFor, type Permissions } from './acl.ts';
import { ClientIdRules } from './client-ids.ts';
import type { SessionOwners } from './session-store.ts';
import { burnPasswordCheck, verifyPassword, type UserAccount, type UsersConfig } from './users.ts';

/** CONNACK return codes (MQTT 3.1.1 §3.2.2.3). */
const IDENTIFIER_REJECTED = 2;
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

export interface AuthStats {
  /** CONNECTs refused */
  loginsRefused: number;
  /** PUBLISHes refused (the connection was closed) */
  publishesRefused: number;
  /** topic filters refused in a SUBSCRIBE (granted 0x80) */
  subscriptionsRefused: number;
  /** deliveries withheld from a client that may not read the topic */
  forwardsRefused: number;
}

/** An error of ours that aedes reports as a client error: broker.ts logs it at debug, not twice. */
export class AuthRefusal extends Error {
  readonly returnCode?: number;
  constructor(message: string, returnCode?: number) {
    super(message);
    this.name = 'AuthRefusal';
    this.returnCode = returnCode;
  }
}

interface Identity {
  account: UserAccount;
  permissions: Permissions;
  via: 'password' | 'certificate';
}

type Login = Identity | { returnCode: number; reason: string };

export class BrokerAuth {
  readonly #logger: Logger;
  readonly #byName = new Map<string, UserAccount>();
  readonly #byCn = new Map<string, UserAccount>();
  readonly #powerTopics: readonly string[];
  readonly #identities = new WeakMap<Client, Identity>();
  /** which client ids each account may use (./client-ids.ts) */
  readonly #clientIds: ClientIdRules;
  /**
   * Client id -> the account that holds it, while connected or while it has a persistent session:
   * another account may neither kick that client off nor take over its session and queued messages.
   */
  readonly #owners = new Map<string, { username: string; client: Client }>();
  /** the same for stored sessions, kept with them (in LevelDB with --persistence) */
  readonly #sessionOwners: SessionOwners;
  readonly #stats: AuthStats = { loginsRefused: 0, publishesRefused: 0, subscriptionsRefused: 0, forwardsRefused: 0 };

  constructor(config: UsersConfig, logger: Logger, sessionOwners: SessionOwners) {
    this.#logger = logger;
    this.#powerTopics = config.powerTopics;
    this.#clientIds = new ClientIdRules(config.users);
    this.#sessionOwners = sessionOwners;
    for (const user of config.users) {
      this.#byName.set(user.username, user);
      if (user.certificateCn !== undefined) this.#byCn.set(user.certificateCn, user);
    }
  }

  /** aedes `authenticate` hook. */
  readonly authenticate = (client: Client, username: string | undefined, password: Buffer | undefined,
    done: (error: AuthenticateError | null, success: boolean | null) => void): void => {
    this.#login(client, username, password).then((login) => {
      if ('returnCode' in login) {
        this.#stats.loginsRefused += 1;
        this.#logger.warn({ clientId: client.id, username, remoteAddress: remoteAddress(client), returnCode: login.returnCode,
          reason: login.reason }, 'MQTT login refused');
        done(new AuthRefusal(`login refused: ${login.reason}`, login.returnCode) as AuthenticateError, false);
        return;
      }
      this.#identities.set(client, login);
      this.#owners.set(client.id, { username: login.account.username, client });
      this.#logger.debug({ clientId: client.id, username: login.account.username, role: login.account.role, via: login.via }, 'MQTT login');
      done(null, true);
    }, (err: unknown) => {
      this.#stats.loginsRefused += 1;
      this.#logger.error({ clientId: client.id, username, err }, 'MQTT login failed');
      done(new AuthRefusal('login failed', NOT_AUTHORIZED) as AuthenticateError, false);
    });
  };

  /** aedes `authorizePublish` hook, after the reserved-prefix check. */
  readonly authorizePublish = (client: Client | null, packet: PublishPacket, callback: (error?: Error | null) => void): void => {
    const identity = client ? this.#identities.get(client) : undefined;
    if (identity && mayPublish(identity.permissions, packet.topic, packet.retain)) {
      callback(null);
      return;
    }
    this.#stats.publishesRefused += 1;
    this.#logger.warn({ clientId: client?.id, username: identity?.account.username, role: identity?.account.role,
      topic: packet.topic, qos: packet.qos, retain: packet.retain }, 'unauthorized PUBLISH refused; closing the connection');
    callback(new AuthRefusal(`not authorized to publish${packet.retain ? ' retained' : ''} to '${packet.topic}'`));
  };

  /** aedes `authorizeSubscribe` hook, before the shared-subscription one (which rewrites `$share/...`). */
  readonly authorizeSubscribe = (client: Client, sub: Subscription,
    callback: (error: Error | null, subscription?: Subscription | null) => void): void => {
    const identity = this.#identities.get(client);
    if (identity && maySubscribe(identity.permissions, sub.topic)) {
      callback(null, sub);
      return;
    }
    this.#stats.subscriptionsRefused += 1;
    this.#logger.warn({ clientId: client.id, username: identity?.account.username, role: identity?.account.role, topic: sub.topic },
      'unauthorized SUBSCRIBE refused (granted 0x80)');
    callback(null, null);
  };

  /** Whether `client` may receive `packet`: the last check before aedes writes it (synchronous). */
  mayForward(client: Client, packet: AedesPublishPacket): boolean {
    const identity = this.#identities.get(client);
    if (identity && mayRead(identity.permissions, packet.topic)) return true;
    this.#stats.forwardsRefused += 1;
    this.#logger.debug({ clientId: client.id, username: identity?.account.username, topic: packet.topic }, 'delivery withheld: not readable');
    return false;
  }

  /** Frees a clean session's client id when its client goes; call once, after `Aedes.createBroker`. */
  attach(aedes: Aedes): void {
    aedes.on('clientDisconnect', (client) => {
      const owner = this.#owners.get(client.id);
      if (owner?.client === client && client.clean) this.#owners.delete(client.id);
    });
  }

  stats(): AuthStats {
    return { ...this.#stats };
  }

  /** The account `client` logged in as; undefined before (or without) a login. */
  accountOf(client: Client): UserAccount | undefined {
    return this.#identities.get(client)?.account;
  }

  /** Whether `client` logged in: only then may aedes touch the session of its client id. */
  loggedIn(client: Client): boolean {
    return this.#identities.has(client);
  }

  /**
   * The credentials, then the client id: one the account's role allows (./client-ids.ts, CONNACK
   * 5), not held by another account's connected client or stored session (CONNACK 2). All of it
   * runs in aedes' authenticate step, before aedes takes the id over from a connected client
   * (lib/handlers/connect.js registerClient), so a refused CONNECT leaves the holder connected.
   * Then the stored owner follows the session: set for clean=false, gone for clean=true.
   */
  async #login(client: Client, username: string | undefined, password: Buffer | undefined): Promise<Login> {
    const identity = await this.#credentials(client, username, password);
    if ('returnCode' in identity) return identity;
    const account = identity.account.username;
    const refusal = this.#clientIds.refusal(identity.account, client.id);
    if (refusal !== undefined) return { returnCode: NOT_AUTHORIZED, reason: refusal };
    const owner = this.#owners.get(client.id)?.username ?? await this.#sessionOwners.get(client.id);
    if (owner !== undefined && owner !== account) {
      return { returnCode: IDENTIFIER_REJECTED, reason: `client id '${client.id}' belongs to another account` };
    }
    if (!client.clean) await this.#sessionOwners.set(client.id, account);
    else if (owner !== undefined) await this.#sessionOwners.delete(client.id);
    return identity;
  }

  /** A verified client certificate whose CN names an account wins; otherwise username and password. */
  async #credentials(client: Client, username: string | undefined, password: Buffer | undefined): Promise<Login> {
    const cn = certificateCn(client, this.#logger);
    const byCert = cn === undefined ? undefined : this.#byCn.get(cn);
    if (byCert) {
      if (username !== undefined && username !== byCert.username) {
        return { returnCode: BAD_USERNAME_OR_PASSWORD, reason: `username '${username}' is not the account of certificate CN '${cn}'` };
      }
      return this.#identity(byCert, 'certificate');
    }
    if (username === undefined) {
      return { returnCode: NOT_AUTHORIZED, reason: cn === undefined ? 'no credentials' : `no account for certificate CN '${cn}'` };
    }
    const account = this.#byName.get(username);
    if (account?.passwordHash === undefined || password === undefined) {
      await burnPasswordCheck(password ?? ''); // the same time as a wrong password: usernames do not leak
      return { returnCode: BAD_USERNAME_OR_PASSWORD, reason: account ? 'no password for this account' : 'unknown username' };
    }
    if (!(await verifyPassword(password, account.passwordHash))) return { returnCode: BAD_USERNAME_OR_PASSWORD, reason: 'wrong password' };
    return this.#identity(account, 'password');
  }

  #identity(account: UserAccount, via: Identity['via']): Identity {
    return { account, via, permissions: permissionsFor(account.role, account.id, this.#powerTopics) };
  }
}

/**
 * The CN of a client certificate the TLS listener verified against its CA (`requestCert` with
 * `rejectUnauthorized: false`, so clients without one can still log in with a password). A
 * certificate that failed verification counts as none, with a warning.
 */
function certificateCn(client: Client, logger: Logger): string | undefined {
  const socket = client.conn;
  if (!(socket instanceof TLSSocket)) return undefined;
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return undefined;
  if (!socket.authorized) {
    logger.warn({ clientId: client.id, remoteAddress: remoteAddress(client), subject: cert.subject?.CN, error: String(socket.authorizationError) },
      'client certificate not verified; ignored');
    return undefined;
  }
  const cn = cert.subject?.CN;
  return typeof cn === 'string' ? cn : undefined;
}

function remoteAddress(client: Client): string | undefined {
  const conn = client.conn as { remoteAddress?: string };
  return conn.remoteAddress ?? (client.req?.socket?.remoteAddress);
}
