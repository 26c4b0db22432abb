/**
 * A byte-rate bound on what each account publishes: a token bucket per account (not per
 * connection, so reconnecting does not refill it), filled at the role's rate up to a burst.
 *
 * A PUBLISH the bucket cannot pay for is refused the way aedes 1.x refuses any PUBLISH: its
 * `authorizePublish` error closes the connection before a PUBACK (MQTT 3.1.1 §3.3.5). Delaying the
 * PUBLISH instead would not slow the sender: aedes reads the socket again on every 'readable' event
 * while a packet is still being authorized (lib/client.js nextBatch), so held packets would pile up
 * in the broker's memory. A refused QoS 1 frame was never acknowledged, so nothing is owed an answer.
 */
import type { Client, PublishPacket } from 'aedes';
import { DynasplitError, ErrorCodes } from '../common/index.ts';

/** Bytes per second, refilled continuously, up to `burstBytes`. Pure: the caller passes the clock. */
export class TokenBucket {
  #tokens: number;
  #at: number;

  /**
   * @param bytesPerSecond the sustained rate
   * @param burstBytes the most it holds (and what it starts with)
   * @param nowMs ms; the clock at creation
   */
  constructor(readonly bytesPerSecond: number, readonly burstBytes: number, nowMs: number) {
    this.#tokens = burstBytes;
    this.#at = nowMs;
  }

  /** Takes `bytes` if the bucket holds them at `nowMs`; false (taking nothing) otherwise. */
  take(bytes: number, nowMs: number): boolean {
    this.#tokens = Math.min(this.burstBytes, this.#tokens + ((nowMs - this.#at) / 1000) * this.bytesPerSecond);
    this.#at = nowMs;
    if (bytes > this.#tokens) return false;
    this.#tokens -= bytes;
    return true;
  }
}

/** The account a client logged in as, as far as the rate bound needs it. */
export interface RateAccount {
  username: string;
  role: string;
  /** bytes; the account's own packet bound, if the users file sets one */
  maxPacketBytes?: number;
}

export interface PublishRateOptions {
  /** bytes per second per role; roles without an entry are not bounded */
  publishBytesPerSecondByRole: Partial<Record<string, number>>;
  /** bytes; an account's packet bound (./packet-size.ts accountBound): a burst always holds one packet */
  packetBytesOf(account: RateAccount): number;
}

/** s; how much of its rate an account may publish at once beyond one packet. */
export const BURST_SECONDS = 2;

/** `authorizePublish` step: refuses a PUBLISH over its account's byte rate with DYNASPLIT_ERR_RATE_LIMITED. */
export class PublishRates {
  readonly #buckets = new Map<string, TokenBucket>();
  #refused = 0;

  constructor(private readonly options: PublishRateOptions, private readonly accountOf: (client: Client) => RateAccount | undefined,
    private readonly now: () => number = Date.now) {}

  readonly authorizePublish = (client: Client | null, packet: PublishPacket, callback: (error?: Error | null) => void): void => {
    const account = client ? this.accountOf(client) : undefined;
    const bucket = account === undefined ? undefined : this.#bucket(account);
    // What the PUBLISH makes the broker hold and forward: its topic and payload.
    const bytes = Buffer.byteLength(packet.topic) + (typeof packet.payload === 'string' ? Buffer.byteLength(packet.payload) : packet.payload.length);
    if (bucket === undefined || bucket.take(bytes, this.now())) {
      callback(null);
      return;
    }
    this.#refused += 1;
    callback(new DynasplitError(ErrorCodes.RATE_LIMITED,
      `account '${account!.username}' (role ${account!.role}) published more than ${bucket.bytesPerSecond} bytes/s `
      + `(burst ${bucket.burstBytes} bytes; broker option publishBytesPerSecondByRole, --role-publish-kb-per-s): connection closed`,
      { retryable: true, details: { username: account!.username, role: account!.role, bytesPerSecond: bucket.bytesPerSecond, burstBytes: bucket.burstBytes, packetBytes: bytes } }));
  };

  /** PUBLISHes refused so far. */
  get refused(): number {
    return this.#refused;
  }

  #bucket(account: RateAccount): TokenBucket | undefined {
    const rate = this.options.publishBytesPerSecondByRole[account.role];
    if (rate === undefined) return undefined;
    let bucket = this.#buckets.get(account.username);
    if (bucket === undefined) {
      bucket = new TokenBucket(rate, Math.max(BURST_SECONDS * rate, this.options.packetBytesOf(account)), this.now());
      this.#buckets.set(account.username, bucket);
    }
    return bucket;
  }
}
