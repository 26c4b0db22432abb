import { describe, expect, it } from 'vitest';
import { compilePolicy, configuration, decide, decodePolicy, defaultPolicy, defaultSplit, encodePolicy } from '../../../policy/index.ts';
import type { PolicyEntryProperties } from '../../../schemas/index.ts';

const entry = (cut: string, latencyMs: number, energyJ: number, accuracy = 1, latencyP95Ms = latencyMs): PolicyEntryProperties => ({
  configuration: configuration({ cut, codec: cut === 'output' ? '' : 'fp32' }), latency_ms: latencyMs, latency_p95_ms: latencyP95Ms, energy_j: energyJ, accuracy,
});

const policy = (entries: PolicyEntryProperties[], rule = 'energy-first') => compilePolicy({ version: 1, model: 'm', rule, entries });

describe('decide (DynaSplit online rule)', () => {
  const p = policy([
    entry('input', 10, 9),     // fastest, most energy
    entry('output', 100, 1),   // cheapest, slowest
    entry('a', 40, 3),
    entry('b', 60, 2),
    entry('c', 50, 5),         // dominated by a: never first to fit
  ]);

  it('takes the cheapest entry whose latency fits the budget', () => {
    expect(decide(p, 1000)!.configuration.cut).toBe('output');
    expect(decide(p, 100)!.configuration.cut).toBe('output');
    expect(decide(p, 99)!.configuration.cut).toBe('b');
    expect(decide(p, 59)!.configuration.cut).toBe('a');
    expect(decide(p, 39)!.configuration.cut).toBe('input');
  });

  it('takes the fastest when no entry fits', () => {
    expect(decide(p, 5)!.configuration.cut).toBe('input');
    expect(decide(p, 0)!.configuration.cut).toBe('input');
  });

  it('agrees with a plain scan on random policies and budgets', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (let round = 0; round < 200; round++) {
      const entries = Array.from({ length: 1 + Math.floor(rand() * 12) }, (_, i) => entry(`t${i}`, Math.round(rand() * 100), Math.round(rand() * 20), Math.round(rand() * 4) / 4));
      const compiled = policy(entries);
      const sorted = [...compiled.entries];
      for (const budget of [0, 10, 25, 50, 75, 100, 150]) {
        const scan = sorted.find((e) => e.latencyMs <= budget) ?? sorted.reduce((b, e) => (e.latencyMs < b.latencyMs ? e : b));
        expect(decide(compiled, budget)).toBe(scan);
      }
    }
  });

  it('breaks energy ties by accuracy, highest first', () => {
    const q = policy([entry('x', 10, 1, 0.9), entry('y', 10, 1, 0.99)]);
    expect(decide(q, 50)!.configuration.cut).toBe('y');
  });

  it('the safe rule compares the budget with p95', () => {
    const q = policy([entry('slow-tail', 20, 1, 1, 80), entry('steady', 30, 2, 1, 35)], 'energy-first-p95');
    expect(decide(q, 50)!.configuration.cut).toBe('steady');
    expect(decide(policy([entry('slow-tail', 20, 1, 1, 80), entry('steady', 30, 2, 1, 35)]), 50)!.configuration.cut).toBe('slow-tail');
  });

  it('an accuracy floor skips entries below it, unless none is above', () => {
    const q = policy([entry('lossy', 10, 1, 0.8), entry('exact', 10, 2, 1)]);
    expect(decide(q, 50, { accuracyFloor: 0.9 })!.configuration.cut).toBe('exact');
    expect(decide(q, 50, { accuracyFloor: 1.5 })!.configuration.cut).toBe('lossy');
  });

  it('round-robin rotates', () => {
    const q = policy([entry('a', 0, 0), entry('b', 0, 0), entry('c', 0, 0)], 'round-robin');
    expect([0, 1, 2, 3].map((turn) => decide(q, 1, { turn })!.configuration.cut)).toEqual(['a', 'b', 'c', 'a']);
  });

  it('an empty policy decides nothing', () => {
    expect(decide(policy([]), 10)).toBeUndefined();
  });
});

describe('default policy and the policy wire format', () => {
  const cuts = [
    { name: 'big-early', bytesPerSample: 4000, flopsBefore: 10 },
    { name: 'small-early', bytesPerSample: 1000, flopsBefore: 40 },
    { name: 'tiny-late', bytesPerSample: 10, flopsBefore: 90 },
  ];

  it('splits at the smallest tensor in the first half of the FLOPs', () => {
    expect(defaultSplit(cuts, 100)).toBe('small-early');
  });

  it('rotates edge-only, the split and cloud-only', () => {
    const p = defaultPolicy('m', cuts, 100);
    expect(p.rule).toBe('round-robin');
    expect(p.entries!.map((e) => e.configuration!.name)).toEqual(['edge-only', 'split@small-early/fp16', 'cloud-only/fp32']);
  });

  it('round-trips through protobuf and rejects bad policies with a code', () => {
    const p = defaultPolicy('m', cuts, 100);
    expect(decodePolicy(encodePolicy(p)).entries).toHaveLength(3);
    expect(() => decodePolicy(new Uint8Array([0xff, 0xff, 0xff]))).toThrow(expect.objectContaining({ code: 'DYNASPLIT_ERR_BAD_POLICY' }));
    expect(() => decodePolicy(encodePolicy({ ...p, entries: [] }))).toThrow(/no entries/);
    expect(() => decodePolicy(encodePolicy({ ...p, entries: [{ configuration: { cut: 'x', codec: 'zip' } }] }))).toThrow(/unknown codec 'zip'/);
    expect(() => decodePolicy(encodePolicy({ ...p, entries: [{ configuration: { cut: 'x' }, latency_ms: -1 }] }))).toThrow(/negative/);
  });
});
