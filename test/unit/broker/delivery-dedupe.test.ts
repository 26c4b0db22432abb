/**
 * One copy of each message per client: none lost when messages are routed out of the order they
 * were published in, none doubled when several of a client's subscriptions match.
 */
import { describe, expect, it } from 'vitest';
import { collect, uniqueTopic, useBroker, waitFor } from './helpers.ts';

const { broker, clients } = useBroker();

describe('delivery dedupe', () => {
  it('delivers a QoS 1 message that a later QoS 0 one overtakes (no store step for QoS 0)', async () => {
    const base = uniqueTopic('overtake');
    const sub = await clients.connect(broker().url);
    const got = collect(sub);
    await sub.subscribeAsync([`${base}/one`, `${base}/zero`], { qos: 1 });
    const pub = await clients.connect(broker().url);
    const n = 100;
    // Without waiting: each pair arrives in one socket read and aedes handles it at once.
    const acked = [];
    for (let i = 0; i < n; i++) {
      acked.push(pub.publishAsync(`${base}/one`, String(i), { qos: 1 }));
      pub.publish(`${base}/zero`, String(i), { qos: 0 });
    }
    await Promise.all(acked);
    await waitFor(() => got.length >= 2 * n, () => `${2 * n} messages (got ${got.length})`);
    const numbers = (topic: string) => got.filter((m) => m.topic === topic).map((m) => Number(m.payload)).sort((a, b) => a - b);
    const all = Array.from({ length: n }, (_, i) => i);
    expect(numbers(`${base}/one`)).toEqual(all);
    expect(numbers(`${base}/zero`)).toEqual(all);
  });

  it('delivers a message once when several of the client\'s subscriptions match, at any QoS', async () => {
    const base = uniqueTopic('overlap');
    const sub = await clients.connect(broker().url);
    const got = collect(sub);
    await sub.subscribeAsync({ [`${base}/#`]: { qos: 1 }, [`${base}/+`]: { qos: 0 }, [`${base}/a`]: { qos: 1 } });
    const pub = await clients.connect(broker().url);
    for (let i = 0; i < 10; i++) await pub.publishAsync(`${base}/a`, String(i), { qos: (i % 2) as 0 | 1 });
    await pub.publishAsync(`${base}/end`, 'end', { qos: 1 });
    await waitFor(() => got.some((m) => m.payload === 'end'), () => 'the last message');
    expect(got.map((m) => m.payload)).toEqual([...Array.from({ length: 10 }, (_, i) => String(i)), 'end']);
  });
});
