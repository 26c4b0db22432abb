/** How a node takes its models: --model specs, --card specs, and each model's card read, bound and checked at start. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../../common/index.ts';
import { ModelStore, SessionCache } from '../../../model/index.ts';
import { addModels, parseCardSpecs, parseModelSpec } from '../../../node-runtime/index.ts';

const FIXTURES = join(import.meta.dirname, '../../fixtures/models');
const fixture = (name: string) => join(FIXTURES, `${name}.onnx`);
const scratch = mkdtempSync(join(tmpdir(), 'dynasplit-models-'));
const sessions = new SessionCache({ threads: 1 });

afterAll(async () => {
  await sessions.close();
  rmSync(scratch, { recursive: true, force: true });
});

function card(name: string, body: unknown): string {
  const path = join(scratch, `${name}.card.json`);
  writeFileSync(path, JSON.stringify(body));
  return path;
}

const add = (models: Record<string, string>, more: { cards?: Record<string, string>; dims?: Record<string, number> } = {}) =>
  addModels(new ModelStore({ workDir: scratch, sessions }), { models, modelCacheDir: scratch, ...more });

describe('parseModelSpec', () => {
  it.each([
    ['vgg16-tiny', ['vgg16-tiny', 'vgg16-tiny']],
    ['det=models/detector.onnx', ['det', 'models/detector.onnx']],
    ['models/resnet-tiny.onnx', ['resnet-tiny', 'models/resnet-tiny.onnx']],
    ['/abs/x/vit.ONNX', ['vit', '/abs/x/vit.ONNX']],
    ['a=b=c.onnx', ['a', 'b=c.onnx']],
  ])('%s', (entry, want) => {
    expect(parseModelSpec(entry)).toEqual(want);
  });

  it('refuses an empty name', () => {
    expect(() => parseModelSpec('=x.onnx')).toThrow(expect.objectContaining({ code: ErrorCodes.BAD_ARGS }));
  });
});

describe('parseCardSpecs', () => {
  it('gives a bare FILE to the one model, NAME=FILE to the model named', () => {
    expect(parseCardSpecs(['c.json'], ['m'])).toEqual({ m: 'c.json' });
    expect(parseCardSpecs(['a=x.json', 'b=y.json'], ['a', 'b'])).toEqual({ a: 'x.json', b: 'y.json' });
    // A path with '=' whose prefix names no model is the one model's card.
    expect(parseCardSpecs(['dir=1/c.json'], ['m'])).toEqual({ m: 'dir=1/c.json' });
  });

  it('refuses a bare FILE when several models are served', () => {
    expect(() => parseCardSpecs(['c.json'], ['a', 'b'])).toThrow(expect.objectContaining({ code: ErrorCodes.BAD_ARGS, message: expect.stringContaining('NAME=FILE') }));
  });
});

describe('addModels', () => {
  it('reads the card beside each model: its preprocessing, its labels, its image input', async () => {
    const cards = await add({ vit: fixture('vit-tiny-torchvision'), two: fixture('two-inputs') });
    const vit = cards.get('vit', []);
    expect(vit.loaded.source).toBe(join(FIXTURES, 'vit-tiny-torchvision.card.json'));
    expect(vit.loaded.labels).toHaveLength(10);
    expect(vit.image).toMatchObject({ tensor: 'input', shape: [1, 3, 32, 32], preprocess: { height: 32, width: 32, resize: 36 } });
    // No card beside it: the default card, fed by the first input.
    expect(cards.get('two', []).loaded.source).toBeUndefined();
    expect(cards.get('two', []).image?.tensor).toBe('image');
  });

  it('binds --dim values over a card, and refuses at once a dim that stays open, by name', async () => {
    const raw = card('raw', { output: { kind: 'raw' } });
    const bound = await add({ fcn: fixture('fcn-dynamic-hw') }, { cards: { fcn: raw }, dims: { height: 48, width: 64 } });
    expect(bound.get('fcn', []).image?.shape).toEqual([1, 3, 48, 64]);
    await expect(add({ fcn: fixture('fcn-dynamic-hw') }, { cards: { fcn: raw }, dims: { height: 48 } })).rejects.toMatchObject({
      code: ErrorCodes.UNRESOLVED_DIM, details: { dim: 'width', file: fixture('fcn-dynamic-hw') },
    });
  });

  it('refuses a card that does not fit its model, and a card file that is not there', async () => {
    await expect(add({ r: fixture('resnet-tiny') }, { cards: { r: card('crop', { input: { crop: 28 } }) } })).rejects.toMatchObject({
      code: ErrorCodes.BAD_MODEL_CARD, details: { field: 'input.crop' },
    });
    await expect(add({ r: fixture('resnet-tiny') }, { cards: { r: join(scratch, 'none.card.json') } })).rejects.toMatchObject({ code: ErrorCodes.FILE_NOT_FOUND });
  });
});
