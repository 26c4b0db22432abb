/**
 * A link that recovers is noticed: an edge node emulating a slow device sends tensors to an emulated
 * GPU worker over an emulated 2 Mbit/s uplink; the optimizer (window 3 s, memory 8 s) reads the
 * metrics. The uplink slows 100x, the policy moves everything to the edge (no transfer measures the
 * link any more); the uplink recovers, and within 30 s the published choice offloads the large tensor again. Nothing probes the link: after
 * the memory without transfers that confirm the bandwidth, the estimate returns to the prior and the
 * optimizer tries offloading again (pareto/link-fit.ts linkForRound).
 */
import { afterAll, beforeAll, expect, inject, it, vi } from 'vitest';
import { startAdaptationRig, type AdaptationRig } from '../helpers/adaptation-rig.ts';

let rig: AdaptationRig;

beforeAll(async () => {
  rig = await startAdaptationRig(inject('zooDir'), 'recover', 8_000);
}, 60_000);

afterAll(async () => {
  await rig?.close();
});

const moreAnswers = (count: number) => rig.moreAnswers(count);
const choice = () => rig.choice();
/** The largest tensor the answers since `from` under configuration `name` sent. */
const sentBy = (name: string, from: number) => Math.max(0, ...rig.sink.all.filter((r) => r.completed_at_ms >= from && r.configuration?.name === name).map((r) => r.tensor_bytes ?? 0));

it('offloads the large tensor again within 30 s of the uplink recovering', async () => {
  await moreAnswers(30);
  await vi.waitFor(() => expect(choice()).toBeDefined(), { timeout: 10_000, interval: 50 });
  const before = choice()!;
  const beforeFrom = Date.now();
  await moreAnswers(20);
  const large = sentBy(before.configuration.name, beforeFrom);
  expect(large, `${before.configuration.name} sends a tensor`).toBeGreaterThan(0);

  // 100x slower: even the smallest tensor misses the budget, so everything moves to the edge and
  // nothing measures the link any more.
  rig.edge.setLink({ mbps: 0.02, rttMs: 1 });
  await vi.waitFor(() => expect(choice()!.configuration.cut).toBe('output'), { timeout: 20_000, interval: 50 });

  rig.edge.setLink({ mbps: 2, rttMs: 1 });
  const recoveredAt = Date.now();
  await vi.waitFor(() => {
    const now = choice()!.configuration;
    expect(sentBy(now.name, recoveredAt), `${now.name} since the recovery`).toBeGreaterThanOrEqual(large / 2);
  }, { timeout: 30_000, interval: 100 });
}, 120_000);
