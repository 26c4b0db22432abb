/**
 * A byte bound on MQTT packets, checked from the fixed header before the packet is buffered.
 *
 * aedes 1.x has no packet-size option: its parser (mqtt-packet) accepts any Remaining Length up to
 * 256 MiB and buffers the whole packet first, and the aedes docs (docs/Aedes.md, maxInflightInbound)
 * advise pairing it with "a transport-level frame limit". This is that limit: a small state machine
 * that follows the framing of the byte stream (MQTT 3.1.1 §2.2: one header byte, then the Remaining
 * Length as a variable byte integer of 1-4 bytes, §2.2.3) and reports the first packet that is
 * larger than the bound, before its body arrives.
 */
import type { Duplex } from 'node:stream';

/** What `PacketSizeMeter.feed` (or the guard's count before CONNACK) found wrong with the stream. */
export interface PacketSizeViolation {
  /**
   * 'too-large': a packet over the bound; 'malformed': a Remaining Length longer than 4 bytes;
   * 'before-connack': more bytes than the pre-login bound before the CONNECT was accepted.
   */
  kind: 'too-large' | 'malformed' | 'before-connack';
  /** bytes; the whole packet's size as its header declares it (too-large only). */
  packetBytes?: number;
  /** bytes; the bound that was crossed (too-large and before-connack) */
  limitBytes?: number;
  /** whether the connection had not been accepted yet (CONNACK 0 not sent) */
  beforeConnack?: boolean;
  /** the logged-in account whose own bound was crossed, and where that bound comes from */
  account?: AccountBound;
}

/** The packet bound of one logged-in account (./account-bound.ts). */
export interface AccountBound {
  username: string;
  role: string;
  /** bytes; the largest whole packet this account may send */
  maxPacketBytes: number;
  /** where the bound comes from: the users file entry, the role's option, or the broker-wide one */
  source: 'account' | 'role' | 'broker';
}

type State = 'header' | 'length' | 'body';

export class PacketSizeMeter {
  #maxPacketBytes: number;
  #state: State = 'header';
  #length = 0;
  #lengthBytes = 0;
  #multiplier = 1;
  /** bytes of the current packet's body still to skip */
  #remaining = 0;

  /** @param maxPacketBytes bytes; the largest whole packet (fixed header included) allowed. */
  constructor(maxPacketBytes: number) {
    this.#maxPacketBytes = maxPacketBytes;
  }

  /** bytes; a new bound, from the next packet header on (the packet being read keeps its size). */
  set maxPacketBytes(bytes: number) {
    this.#maxPacketBytes = bytes;
  }

  /** Follows the framing over the next chunk; returns the first violation, or undefined. */
  feed(chunk: Uint8Array): PacketSizeViolation | undefined {
    let i = 0;
    while (i < chunk.length) {
      if (this.#state === 'body') {
        const skip = Math.min(this.#remaining, chunk.length - i);
        i += skip;
        this.#remaining -= skip;
        if (this.#remaining === 0) this.#state = 'header';
        continue;
      }
      const byte = chunk[i++];
      if (this.#state === 'header') {
        this.#startLength();
        continue;
      }
      const violation = this.#lengthByte(byte);
      if (violation) return violation;
    }
    return undefined;
  }

  #startLength(): void {
    this.#state = 'length';
    this.#length = 0;
    this.#lengthBytes = 0;
    this.#multiplier = 1;
  }

  /** One byte of the Remaining Length: 7 bits of value, the high bit says another byte follows. */
  #lengthByte(byte: number): PacketSizeViolation | undefined {
    this.#length += (byte & 0x7f) * this.#multiplier;
    this.#multiplier *= 128;
    this.#lengthBytes += 1;
    if ((byte & 0x80) !== 0) {
      return this.#lengthBytes >= 4 ? { kind: 'malformed' } : undefined;
    }
    const packetBytes = 1 + this.#lengthBytes + this.#length;
    if (packetBytes > this.#maxPacketBytes) return { kind: 'too-large', packetBytes, limitBytes: this.#maxPacketBytes };
    this.#remaining = this.#length;
    this.#state = this.#length === 0 ? 'header' : 'body';
    return undefined;
  }
}

/**
 * The packet bound of a logged-in account: its own `maxPacketBytes` (users file), else its role's
 * (broker option maxPacketBytesByRole), else the broker's maxPacketBytes; never more than that.
 */
export function accountBound(account: { username: string; role: string; maxPacketBytes?: number },
  options: { maxPacketBytes: number; maxPacketBytesByRole: Partial<Record<string, number>> }): AccountBound {
  const byRole = options.maxPacketBytesByRole[account.role];
  const [bytes, source]: [number, AccountBound['source']] = account.maxPacketBytes !== undefined ? [account.maxPacketBytes, 'account']
    : byRole !== undefined ? [byRole, 'role'] : [options.maxPacketBytes, 'broker'];
  return bytes < options.maxPacketBytes
    ? { username: account.username, role: account.role, maxPacketBytes: bytes, source }
    : { username: account.username, role: account.role, maxPacketBytes: options.maxPacketBytes, source: 'broker' };
}

/** bytes; the bounds of one connection (./options.ts maxPacketBytes and maxConnectBytes). */
export interface PacketLimits {
  maxPacketBytes: number;
  /** what the connection may send in all before its CONNECT is accepted; also bounds each packet then */
  maxConnectBytes: number;
}

export interface PacketGuard {
  /**
   * The CONNECT was accepted (CONNACK 0 sent): from now on maxPacketBytes applies, or the logged-in
   * account's own bound when one is given (never more than maxPacketBytes).
   */
  admit(account?: AccountBound): void;
}

/**
 * Destroys `conn` with the error `onViolation` returns at the first packet over the bound: until
 * `admit()`, the smaller of the two limits per packet and maxConnectBytes for everything received;
 * then maxPacketBytes per packet. An unauthenticated peer can so make the broker hold at most
 * maxConnectBytes (plus one socket read, 64 KiB) for at most the connect timeout.
 *
 * Call it after `aedes.handle(conn)`. aedes reads in paused mode (a 'readable' listener and
 * `conn.read(null)`, lib/client.js nextBatch); a Node stream in that mode emits 'data' for each
 * chunk `read()` returns and a later 'data' listener does not switch it to flowing mode, so this
 * sees every chunk just before aedes parses it, without changing how aedes reads.
 */
export function guardPacketSize(conn: Duplex, limits: PacketLimits,
  onViolation: (violation: PacketSizeViolation) => Error): PacketGuard {
  const preLogin = Math.min(limits.maxConnectBytes, limits.maxPacketBytes);
  const meter = new PacketSizeMeter(preLogin);
  /** bytes still allowed before CONNACK; undefined once admitted */
  let left: number | undefined = preLogin;
  let account: AccountBound | undefined;
  const onData = (chunk: Buffer): void => {
    let violation = meter.feed(chunk);
    if (violation && left !== undefined) violation.beforeConnack = true;
    if (violation?.kind === 'too-large' && account !== undefined) violation.account = account;
    if (!violation && left !== undefined) {
      left -= chunk.length;
      if (left < 0) violation = { kind: 'before-connack', limitBytes: preLogin, beforeConnack: true };
    }
    if (!violation) return;
    conn.off('data', onData);
    conn.destroy(onViolation(violation));
  };
  conn.on('data', onData);
  return {
    admit: (bound) => {
      left = undefined;
      account = bound !== undefined && bound.maxPacketBytes < limits.maxPacketBytes ? bound : undefined;
      meter.maxPacketBytes = account?.maxPacketBytes ?? limits.maxPacketBytes;
    },
  };
}
