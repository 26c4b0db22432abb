import type { Client, PublishPacket } from 'aedes';
import { describe, expect, it } from 'vitest';
import { PublishRates, TokenBucket } from '../../../broker/publish-rate.ts';
import { isDynasplitError } from '../../../common/index.ts';

describe('TokenBucket', () => {
  it('starts full, refills at its rate up to its burst, and takes nothing it cannot pay for', () => {
    const bucket = new TokenBucket(1000, 2000, 0);
    expect(bucket.take(1500, 0)).toBe(true);
    expect(bucket.take(600, 0)).toBe(false); // 500 left: refused whole, nothing taken
    expect(bucket.take(500, 0)).toBe(true);
    expect(bucket.take(1000, 1000)).toBe(true); // 1 s refilled 1000
    expect(bucket.take(2001, 60_000)).toBe(false); // never more than the burst
    expect(bucket.take(2000, 60_000)).toBe(true);
  });
});

describe('PublishRates', () => {
  const clients = new Map<Client, { username: string; role: string; maxPacketBytes?: number }>();
  const client = (username: string, role: string): Client => {
    const c = { id: username } as Client;
    clients.set(c, { username, role });
    return c;
  };
  const publish = (bytes: number): PublishPacket => ({ cmd: 'publish', topic: 't', payload: Buffer.alloc(bytes - 1), qos: 1, retain: false, dup: false });

  function check(rates: PublishRates, c: Client, bytes: number): Error | null {
    let result: Error | null | undefined;
    rates.authorizePublish(c, publish(bytes), (err) => { result = err ?? null; });
    return result!;
  }

  it('bounds each account of a bounded role by its rate, with a burst of 2 s or one packet, across its connections', () => {
    let now = 0;
    const rates = new PublishRates({ publishBytesPerSecondByRole: { sensor: 1000 }, packetBytesOf: () => 5000 }, (c) => clients.get(c), () => now);
    const [cam, again, other, edge] = [client('cam-1', 'sensor'), client('cam-1', 'sensor'), client('cam-2', 'sensor'), client('edge-1', 'edge')];
    clients.set(again, { username: 'cam-1', role: 'sensor' });
    expect(check(rates, cam, 5000)).toBeNull(); // the burst: max(2 s x 1000, one 5000-byte packet)
    const refused = check(rates, again, 100); // the same account on another connection
    expect(isDynasplitError(refused, 'DYNASPLIT_ERR_RATE_LIMITED')).toBe(true);
    expect(refused!.message).toMatch(/account 'cam-1' \(role sensor\) published more than 1000 bytes\/s \(burst 5000 bytes/);
    expect(check(rates, other, 5000)).toBeNull(); // another account has its own bucket
    expect(check(rates, edge, 1_000_000)).toBeNull(); // roles without a rate are not bounded
    now = 1000;
    expect(check(rates, cam, 1000)).toBeNull();
    expect(rates.refused).toBe(1);
  });
});
