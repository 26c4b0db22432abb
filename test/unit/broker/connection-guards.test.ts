/**
 * The two guards on a connection's stream, over real loopback sockets: the pre-login byte bound
 * (./packet-size.ts guardPacketSize) and the outgoing queue bound (./outgoing-bound.ts).
 */
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { boundOutgoing, type QueueViolation } from '../../../broker/outgoing-bound.ts';
import { accountBound, guardPacketSize, type PacketSizeViolation } from '../../../broker/packet-size.ts';
import { connectPacket, remainingLength } from '../../helpers/raw-mqtt.ts';

const cleanups: (() => void)[] = [];
afterEach(() => { cleanups.splice(0).forEach((f) => f()); });

/** A connected pair: the server's end and a client's end that never reads. */
async function socketPair(): Promise<{ server: Socket; client: Socket }> {
  const listener = createServer();
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<Socket>((resolve) => listener.once('connection', resolve));
  const client = connect((listener.address() as AddressInfo).port, '127.0.0.1');
  client.pause();
  const server = await accepted;
  cleanups.push(() => { client.destroy(); server.destroy(); listener.close(); });
  return { server, client };
}

function guarded(limits = { maxPacketBytes: 1_000_000, maxConnectBytes: 2048 }) {
  const stream = new PassThrough();
  const seen: PacketSizeViolation[] = [];
  const guard = guardPacketSize(stream, limits, (violation) => { seen.push(violation); return new Error(violation.kind); });
  stream.on('error', () => {});
  return { stream, guard, seen };
}

const publishHeader = (bytes: number) => Buffer.concat([Buffer.from([0x30]), remainingLength(bytes)]);

describe('guardPacketSize before and after login', () => {
  it('refuses a CONNECT over maxConnectBytes from its header, even under maxPacketBytes', () => {
    const { stream, seen } = guarded();
    stream.write(Buffer.concat([Buffer.from([0x10]), remainingLength(10_000)]));
    expect(seen).toEqual([{ kind: 'too-large', packetBytes: 10_003, limitBytes: 2048, beforeConnack: true }]);
    expect(stream.destroyed).toBe(true);
  });

  it('counts everything before CONNACK together; after admit only maxPacketBytes applies', () => {
    const first = guarded();
    first.stream.write(connectPacket('c-1'));
    for (let i = 0; i < 3; i++) first.stream.write(Buffer.concat([publishHeader(1000), Buffer.alloc(1000)]));
    expect(first.seen).toEqual([{ kind: 'before-connack', limitBytes: 2048, beforeConnack: true }]);

    const second = guarded();
    second.stream.write(connectPacket('c-2'));
    second.guard.admit();
    for (let i = 0; i < 3; i++) second.stream.write(Buffer.concat([publishHeader(100_000), Buffer.alloc(100_000)]));
    expect(second.seen).toEqual([]);
    second.stream.write(publishHeader(2_000_000));
    expect(second.seen).toEqual([{ kind: 'too-large', packetBytes: 2_000_004, limitBytes: 1_000_000 }]);
  });
});

describe('an account\'s own packet bound', () => {
  const options = { maxPacketBytes: 1_000_000, maxPacketBytesByRole: { sensor: 20_000 } };

  it('is the account\'s, else its role\'s, else maxPacketBytes, and never above maxPacketBytes', () => {
    expect(accountBound({ username: 'cam-1', role: 'sensor' }, options)).toEqual({ username: 'cam-1', role: 'sensor', maxPacketBytes: 20_000, source: 'role' });
    expect(accountBound({ username: 'cam-2', role: 'sensor', maxPacketBytes: 5_000 }, options)).toMatchObject({ maxPacketBytes: 5_000, source: 'account' });
    expect(accountBound({ username: 'edge-1', role: 'edge' }, options)).toMatchObject({ maxPacketBytes: 1_000_000, source: 'broker' });
    expect(accountBound({ username: 'cam-3', role: 'sensor', maxPacketBytes: 2_000_000 }, options)).toMatchObject({ maxPacketBytes: 1_000_000, source: 'broker' });
  });

  it('applies from the CONNACK on, and the violation names the account', () => {
    const { stream, guard, seen } = guarded();
    stream.write(connectPacket('cam-1'));
    guard.admit(accountBound({ username: 'cam-1', role: 'sensor' }, options));
    stream.write(Buffer.concat([publishHeader(19_000), Buffer.alloc(19_000)]));
    expect(seen).toEqual([]);
    stream.write(publishHeader(20_000));
    expect(seen).toEqual([{
      kind: 'too-large', packetBytes: 20_004, limitBytes: 20_000,
      account: { username: 'cam-1', role: 'sensor', maxPacketBytes: 20_000, source: 'role' },
    }]);
    expect(stream.destroyed).toBe(true);
  });
});

describe('boundOutgoing', () => {
  it('reports room to the writer always, and destroys the connection past maxQueueBytes', async () => {
    const { server } = await socketPair();
    const seen: QueueViolation[] = [];
    boundOutgoing(server, { maxQueueBytes: 4 * 1024 * 1024, drainTimeoutMs: 600_000 }, (v) => { seen.push(v); return new Error(v.kind); });
    server.on('error', () => {});
    const chunk = Buffer.alloc(256 * 1024);
    let writes = 0;
    while (!server.destroyed && writes < 1000) {
      expect(server.write(chunk)).toBe(true);
      writes += 1;
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(server.destroyed).toBe(true);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.kind).toBe('queue-full');
    expect(seen[0]!.queuedBytes).toBeGreaterThan(4 * 1024 * 1024);
  });

  it('destroys a connection whose queue makes no progress for drainTimeoutMs; one that drains is left alone', async () => {
    const stuck = await socketPair();
    const seen: QueueViolation[] = [];
    boundOutgoing(stuck.server, { maxQueueBytes: 1 << 30, drainTimeoutMs: 200 }, (v) => { seen.push(v); return new Error(v.kind); });
    stuck.server.on('error', () => {});
    const closed = new Promise((resolve) => stuck.server.once('close', resolve));
    // Enough to fill the kernel's buffers on both ends, so that some stays queued.
    for (let i = 0; i < 64; i++) stuck.server.write(Buffer.alloc(1024 * 1024));
    await closed;
    expect(seen.map((v) => v.kind)).toEqual(['stalled']);

    const reading = await socketPair();
    const fine: QueueViolation[] = [];
    // Long enough for a loaded machine to schedule the reader at least once.
    boundOutgoing(reading.server, { maxQueueBytes: 1 << 30, drainTimeoutMs: 5000 }, (v) => { fine.push(v); return new Error(v.kind); });
    let received = 0;
    reading.client.on('data', (chunk: Buffer) => { received += chunk.length; });
    reading.client.resume();
    for (let i = 0; i < 16; i++) reading.server.write(Buffer.alloc(1024 * 1024));
    await vi.waitFor(() => expect(received).toBe(16 * 1024 * 1024), { timeout: 10_000 });
    expect(fine).toEqual([]);
    expect(reading.server.destroyed).toBe(false);
  });
});
