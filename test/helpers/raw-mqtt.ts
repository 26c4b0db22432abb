/**
 * MQTT 3.1.1 packets written by hand, for clients no library would be: one that never reads, one
 * that announces a huge packet, one that stops half-way through its CONNECT.
 */
import { connect, type Socket } from 'node:net';

/** Remaining Length as a variable byte integer (MQTT 3.1.1 §2.2.3). */
export function remainingLength(bytes: number): Buffer {
  const out: number[] = [];
  let x = bytes;
  do {
    let byte = x % 128;
    x = Math.floor(x / 128);
    if (x > 0) byte |= 0x80;
    out.push(byte);
  } while (x > 0);
  return Buffer.from(out);
}

/** A UTF-8 string with its 16-bit length prefix (MQTT 3.1.1 §1.5.3). */
export function utf8(text: string): Buffer {
  const body = Buffer.from(text, 'utf8');
  const length = Buffer.alloc(2);
  length.writeUInt16BE(body.length);
  return Buffer.concat([length, body]);
}

/** A whole packet: the fixed header's first byte, the Remaining Length, the body. */
export function packet(header: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([header]), remainingLength(body.length), body]);
}

/** CONNECT, clean session, no keepalive (the broker never times it out for silence). */
export function connectPacket(clientId: string, credentials?: { username: string; password: string }): Buffer {
  const flags = 0x02 | (credentials ? 0xc0 : 0);
  const variable = Buffer.concat([utf8('MQTT'), Buffer.from([4, flags, 0, 0])]);
  const payload = [utf8(clientId), ...(credentials ? [utf8(credentials.username), utf8(credentials.password)] : [])];
  return packet(0x10, Buffer.concat([variable, ...payload]));
}

/** PUBLISH of `payload` on `topic`; QoS 1 and 2 carry packet id `id`. */
export function publishPacket(topic: string, payload: Uint8Array, qos: 0 | 1 | 2, id: number, retain = false): Buffer {
  const packetId = Buffer.alloc(qos > 0 ? 2 : 0);
  if (qos > 0) packetId.writeUInt16BE(id);
  return packet(0x30 | (qos << 1) | (retain ? 1 : 0), Buffer.concat([utf8(topic), packetId, Buffer.from(payload)]));
}

/** One packet the broker sent: its type (the fixed header's high nibble), flags and body. */
export interface ReceivedPacket { type: number; flags: number; body: Buffer }

/** Splits what a socket receives into packets (MQTT 3.1.1 §2.2): feed it chunks, it returns the whole packets so far. */
export class PacketReader {
  #pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): ReceivedPacket[] {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const out: ReceivedPacket[] = [];
    for (;;) {
      let length = 0;
      let multiplier = 1;
      let at = 1;
      for (; at < this.#pending.length && at <= 4; at++) {
        length += (this.#pending[at] & 0x7f) * multiplier;
        multiplier *= 128;
        if ((this.#pending[at] & 0x80) === 0) break;
      }
      if (at >= this.#pending.length || this.#pending.length < at + 1 + length) return out;
      out.push({ type: this.#pending[0] >> 4, flags: this.#pending[0] & 0x0f, body: this.#pending.subarray(at + 1, at + 1 + length) });
      this.#pending = this.#pending.subarray(at + 1 + length);
    }
  }
}

/** SUBSCRIBE to one filter at QoS `qos`, packet id 1. */
export function subscribePacket(filter: string, qos: 0 | 1): Buffer {
  return packet(0x82, Buffer.concat([Buffer.from([0, 1]), utf8(filter), Buffer.from([qos])]));
}

/** A TCP connection to 127.0.0.1:`port`, once connected. */
export function rawSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Resolves with the first `count` bytes the socket receives (then leaves it paused). */
export function readBytes(socket: Socket, count: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      got = Buffer.concat([got, chunk]);
      if (got.length < count) return;
      socket.off('data', onData);
      socket.off('error', reject);
      socket.pause();
      resolve(got);
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

/** Resolves when the socket is closed, by either side. */
export function closedSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) resolve();
    else socket.once('close', () => resolve());
  });
}

/** kB of resident memory of process `pid` (/proc/PID/status VmRSS; Linux). */
export async function residentKb(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]);
}
