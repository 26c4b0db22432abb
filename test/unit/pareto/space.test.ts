import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { inspectModel } from '../../../model/index.ts';
import { buildSpace, configurationAt, cutsFromInspection, describeSpace, genesOf, indexOf, isValidGenes, memoryCheck, type KnobSet, type SpaceCut, type ValidityCheck } from '../../../pareto/index.ts';

const cut = (name: string, shape: number[], paramBytesBefore: number): SpaceCut => ({ name, shape, paramBytesBefore });
const CUTS = [
  cut('input', [1, 3, 4, 4], 0),
  cut('conv', [1, 8, 4, 4], 100),
  cut('tokens', [1, 5, 16], 200),
  cut('flat', [1, 32], 300),
  cut('vector', [32], 350),
  cut('output', [1, 10], 400),
];
const KNOBS: KnobSet = { frequenciesMhz: [600, 1200], threads: [1, 2], accelerators: ['none', 'tpu'], cloudModes: ['cpu', 'gpu'] };
const RULES = {
  cloudOnly: 'cloud-only: no head runs on the edge, so edge threads and accelerator do not apply',
  edgeOnly: 'edge-only: no codec and no cloud mode (one configuration per edge setting)',
  token: 'int8-token only for rank-3 (token) tensors',
  channel: 'int8-channel only for tensors of rank >= 2',
};

describe('configuration space', () => {
  it('counts a hand-made knob set and what each structural rule removes', () => {
    const d = describeSpace(CUTS, KNOBS);
    expect(d.sizeBeforeRules).toBe(6 * 2 * 2 * 2 * 6 * 2);
    expect(d.radices).toEqual([6, 2, 2, 2, 6, 2]);
    // input 20, conv 80, tokens 96, flat 80, vector 64, output 8.
    expect(d.size).toBe(348);
    expect(d.rules).toEqual([
      { rule: RULES.cloudOnly, removed: 72 },
      { rule: RULES.edgeOnly, removed: 88 },
      { rule: RULES.token, removed: 52 },
      { rule: RULES.channel, removed: 16 },
    ]);
  });

  it('applies device rules after the structural ones, grouped by rule', () => {
    const memory = memoryCheck(250);
    const tpuOneThread: ValidityCheck = (s) => {
      const m = memory(s);
      if (!m.ok) return m;
      return s.accelerator === 'tpu' && s.threads > 1 ? { ok: false, reason: `tpu with ${s.threads} threads`, rule: 'tpu runs with 1 thread' } : { ok: true };
    };
    const d = describeSpace(CUTS, KNOBS, tpuOneThread);
    // Device rules are listed in the order first met.
    expect(d.rules.slice(4)).toEqual([
      { rule: 'tpu runs with 1 thread', removed: 20 + 24 },
      { rule: 'head weights over the edge memory (250 bytes)', removed: 80 + 64 + 8 },
    ]);
    expect(d.size).toBe(348 - 152 - 44);
  });

  it('names every configuration uniquely with policy names, and the genes round-trip', () => {
    const space = buildSpace(CUTS, KNOBS);
    const names = new Set<string>();
    for (const index of space.indices) {
      const genes = genesOf(space, index);
      expect(indexOf(space, genes)).toBe(index);
      expect(isValidGenes(space, genes)).toBe(true);
      names.add(configurationAt(space, index).name);
    }
    expect(names.size).toBe(space.size);
    expect(names).toContain('edge-only[600MHz,1t]');
    expect(names).toContain('edge-only[1200MHz,2t,edge:tpu]');
    expect(names).toContain('cloud-only/fp16[600MHz,cloud:gpu]');
    expect(names).toContain('split@tokens/int8-token[1200MHz,2t,edge:tpu,cloud:cpu]');
    expect(configurationAt(space, space.indices[0])).toMatchObject({ cut: 'input', codec: 'fp32', edge_threads: 0, edge_accelerator: '' });
  });

  it('isValidGenes agrees with the enumeration on every index', () => {
    const check = memoryCheck(250);
    const space = buildSpace(CUTS, KNOBS, check);
    const valid = new Set(space.indices);
    for (let index = 0; index < space.sizeBeforeRules; index++) {
      expect(isValidGenes(space, genesOf(space, index), check)).toBe(valid.has(index));
    }
  });

  it('spans the cut points of a real model (vgg16-tiny)', async () => {
    const report = await inspectModel(join(inject('zooDir'), 'vgg16-tiny.onnx'));
    const cuts = cutsFromInspection(report);
    expect(cuts).toHaveLength(38);
    const knobs = { frequenciesMhz: [600, 800, 1000, 1200, 1400, 1600, 1800], threads: [1, 2, 3, 4], accelerators: ['none', 'std', 'max'], cloudModes: ['cpu', 'gpu'] };
    const d = describeSpace(cuts, knobs);
    expect(d.sizeBeforeRules).toBe(38 * 7 * 4 * 3 * 6 * 2);
    // Every VGG tensor has rank 4 or 2: no int8-token anywhere, int8-channel everywhere.
    expect(d.rules).toEqual([
      { rule: RULES.cloudOnly, removed: 924 },
      { rule: RULES.edgeOnly, removed: 924 },
      { rule: RULES.token, removed: 6062 },
    ]);
    expect(d.size).toBe(70 + 36 * 84 * 10 + 84);
  });
});
