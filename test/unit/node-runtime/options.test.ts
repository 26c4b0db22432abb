import { describe, expect, it } from 'vitest';
import { parseCloudOptions } from '../../../cloud-worker/index.ts';
import { ErrorCodes } from '../../../common/index.ts';
import { parseEdgeOptions } from '../../../edge-node/index.ts';
import { checkNodeOptions, type NodeOptions } from '../../../node-runtime/index.ts';

const parsers = { 'edge node': parseEdgeOptions, 'cloud worker': parseCloudOptions } as const;

describe('checkNodeOptions', () => {
  const refusals: Array<[string, Partial<NodeOptions>, string]> = [
    ['no model', { models: {} }, 'at least one model'],
    ['a bad model name', { models: { 'a/b': 'x.onnx' } }, 'a/b'],
    ['an unknown transport', { transport: 'kafka' as 'mqtt' }, "got 'kafka'"],
    ['negative threads', { threads: -1 }, 'threads must be an integer >= 0'],
    ['fractional threads', { threads: 1.5 }, 'threads must be an integer >= 0'],
    ['no memory', { memoryBudgetMb: 0 }, 'memoryBudgetMb must be a positive integer'],
    ['an unknown meter', { energyMeter: 'guess' as 'rapl' }, "got 'guess'"],
    ['a plug without its topic', { energyMeter: 'mqtt' }, 'needs powerMeterTopic'],
    ['a card of a model not served', { cards: { other: 'other.card.json' } }, "'other', which is not served"],
    ['a dim that is no size', { dims: { height: 0 } }, 'dim height must be an integer >= 1'],
    ['an unknown inference thread', { inferenceThread: 'gpu' as 'main' }, "inferenceThread must be main or worker, got 'gpu'"],
  ];

  for (const [component, parse] of Object.entries(parsers)) {
    it(`refuses, for the ${component}, every node option that cannot work, naming the component`, () => {
      for (const [what, partial, message] of refusals) {
        let thrown: unknown;
        try {
          parse(partial);
        } catch (err) {
          thrown = err;
        }
        expect(thrown, what).toMatchObject({ code: ErrorCodes.BAD_ARGS });
        // A model name is checked where every name is (schemas/): its message names the rule, not the component.
        if (what !== 'a bad model name') expect((thrown as Error).message, what).toContain(component);
        expect((thrown as Error).message, what).toContain(message);
      }
    });
  }

  it('accepts the defaults, and a plug with its topic', () => {
    expect(() => checkNodeOptions('edge node', parseEdgeOptions({}))).not.toThrow();
    expect(parseCloudOptions({ energyMeter: 'mqtt', powerMeterTopic: 'plugs/cloud-1' })).toMatchObject({ energyMeter: 'mqtt', threads: 0 });
  });
});
