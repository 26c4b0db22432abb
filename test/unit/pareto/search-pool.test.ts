import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aggregatePool, configurationAt, paretoFront, poolRow, poolSpace, readPool, searchPool, SEARCH_STRATEGIES } from '../../../pareto/index.ts';

const vgg16 = readPool(readFileSync(join(import.meta.dirname, '..', '..', '..', 'docs', 'results', 'testbed', 'pool-vgg16.csv'), 'utf8'));

describe('search over a recorded pool', () => {
  it('spans the space of the pool\'s knobs and places every configuration in it under its own name', () => {
    const aggregates = aggregatePool(vgg16);
    const { space, at, outside } = poolSpace(aggregates);
    expect(space.radices).toEqual([8, 1, 1, 3, 3, 2]);
    expect(space.size).toBe(117);
    expect(at.size).toBe(aggregates.length);
    expect(outside).toEqual([]);
    for (const [index, a] of at) expect(configurationAt(space, index).name).toBe(a.configuration.name);
  });

  for (const strategy of SEARCH_STRATEGIES) {
    it(`${strategy}: with the whole space as budget, samples the whole pool and finds its exact front`, () => {
      const result = searchPool(vgg16, { budget: 117, strategy, seed: 1 });
      expect(result.unmeasurable).toBe(117 - 103);
      expect(result.sample).toEqual(vgg16);
      expect(result.hypervolumeRatio).toBe(1);
      expect(result.front).toHaveLength(result.exactFront);
    });
  }

  it('samples only configurations of the pool: the runs of those measured, none of those it lacks', () => {
    const result = searchPool(vgg16, { budget: 23, strategy: 'model', seed: 2 });
    const { at } = poolSpace(aggregatePool(vgg16));
    const measured = result.trials.filter((t) => t.outcome).map((t) => at.get(t.index)!.configuration.name);
    expect(result.trials).toHaveLength(23);
    expect(result.unmeasurable).toBe(result.trials.filter((t) => !at.has(t.index)).length);
    expect(new Set(result.sample.map((r) => r.configuration))).toEqual(new Set(measured));
    expect(result.sample).toEqual(vgg16.filter((r) => measured.includes(r.configuration)));
    expect(result.hypervolumeRatio).toBeGreaterThan(0);
    expect(result.hypervolumeRatio).toBeLessThanOrEqual(1);
    const sampleFront = paretoFront(aggregatePool(result.sample)).map((a) => a.configuration.name);
    expect(result.front.map((i) => at.get(i)!.configuration.name)).toEqual(sampleFront);
  });

  it('refuses a pool without knob columns, and one with several models, with coded errors', () => {
    const bare = [poolRow({ model: 'm', configuration: 'a=1', latencyMs: 1, energyJ: 1 }), poolRow({ model: 'm', configuration: 'a=2', latencyMs: 2, energyJ: 0.5 })];
    expect(() => searchPool(bare, { budget: 1, strategy: 'random' })).toThrow(expect.objectContaining({ code: 'DYNASPLIT_ERR_BAD_ARGS' }));
    const two = [...vgg16, { ...vgg16[0], model: 'other' }];
    expect(() => searchPool(two, { budget: 1, strategy: 'random' })).toThrow(expect.objectContaining({ code: 'DYNASPLIT_ERR_BAD_ARGS' }));
  });
});
