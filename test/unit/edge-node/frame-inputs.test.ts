/**
 * A frame's inputs become the model's: every input of a two-input model fed by name, each checked;
 * an image preprocessed as the model card says; each tensor of a frame within the field limits on
 * its own.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeTensor } from '../../../codec/index.ts';
import { ErrorCodes } from '../../../common/index.ts';
import { checkFrameWire } from '../../../edge-node/frame-limits.ts';
import { admit } from '../../../edge-node/frames.ts';
import { preprocessImage } from '../../../image/index.ts';
import { ModelStore, SessionCache } from '../../../model/index.ts';
import { addModels, type ModelCards } from '../../../node-runtime/index.ts';
import { DEFAULT_FRAME_LIMITS, Frame, type FrameProperties } from '../../../schemas/index.ts';

const FIXTURES = join(import.meta.dirname, '../../fixtures/models');
const scratch = mkdtempSync(join(tmpdir(), 'dynasplit-frame-inputs-'));
const sessions = new SessionCache({ threads: 1 });
const store = new ModelStore({ workDir: scratch, sessions });
let cards: ModelCards;

beforeAll(async () => {
  cards = await addModels(store, {
    models: { two: join(FIXTURES, 'two-inputs.onnx'), vit: join(FIXTURES, 'vit-tiny-torchvision.onnx') }, modelCacheDir: scratch,
  });
});

afterAll(async () => {
  await sessions.close();
  rmSync(scratch, { recursive: true, force: true });
});

const fill = (shape: number[], v: number) => new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(v);
const image = encodeTensor({ name: 'image', shape: [1, 3, 32, 32], data: fill([1, 3, 32, 32], 0.5) }, 'fp32');
const meta = encodeTensor({ name: 'meta', shape: [1, 4], data: fill([1, 4], 2) }, 'fp32');
const frame = (over: Partial<FrameProperties>): Frame =>
  Frame.create({ request_id: 'r', model: 'two', budget_ms: 60_000, capture_at_ms: Date.now(), ...over });
const admitted = (over: Partial<FrameProperties>) => admit(frame(over), 's', store, Date.now(), cards);

describe('a frame\'s inputs', () => {
  it('feeds every input of a model with several, by name, whichever field carries which', async () => {
    for (const over of [{ tensor: image, inputs: [meta] }, { tensor: meta, inputs: [image] }, { tensor: { ...image, name: 'anything' }, inputs: [meta] }]) {
      const req = await admitted(over);
      expect(Object.keys(req.inputs).sort()).toEqual(['image', 'meta']);
      expect(req.inputs.image.dims).toEqual([1, 3, 32, 32]);
      expect([...(req.inputs.meta.data as Float32Array)]).toEqual([2, 2, 2, 2]);
    }
  });

  it.each([
    ['a missing input', { tensor: image }, 'meta'],
    ['an input given twice', { tensor: image, inputs: [meta, meta] }, 'meta'],
    ['an input the model does not have', { tensor: image, inputs: [meta, { ...meta, name: 'extra' }] }, 'extra'],
    ['an input of the wrong shape', { tensor: image, inputs: [encodeTensor({ name: 'meta', shape: [1, 5], data: fill([1, 5], 0) }, 'fp32')] }, 'meta'],
    ['an input holding NaN', { tensor: image, inputs: [encodeTensor({ name: 'meta', shape: [1, 4], data: Float32Array.of(1, 2, Number.NaN, 4) }, 'fp32')] }, 'meta'],
    ['an input holding Infinity (fp16 on the wire)', { tensor: encodeTensor({ name: 'image', shape: [1, 3, 32, 32], data: fill([1, 3, 32, 32], -Infinity) }, 'fp16'), inputs: [meta] }, 'image'],
  ])('refuses %s with BAD_INPUT naming it', async (_what, over, tensor) => {
    await expect(admitted(over)).rejects.toMatchObject({ code: ErrorCodes.BAD_INPUT, details: { tensor } });
  });

  it('preprocesses an image as the card says (resize 36, centre crop 32)', async () => {
    const pixels = Buffer.from(Array.from({ length: 50 * 40 * 3 }, (_, i) => (i * 37) % 256));
    const png = await sharp(pixels, { raw: { width: 50, height: 40, channels: 3 } }).png().toBuffer();
    const req = await admitted({ model: 'vit', image: { data: png } });
    const want = await preprocessImage(png, { height: 32, width: 32, resize: 36 });
    expect([...(req.inputs.input.data as Float32Array)]).toEqual([...want]);
    // Not what the old fixed preprocessing (shorter side to the crop) gives.
    expect([...(req.inputs.input.data as Float32Array)]).not.toEqual([...await preprocessImage(png, { height: 32, width: 32 })]);
  });
});

describe('field limits of several tensors', () => {
  const rank4 = (name: string) => encodeTensor({ name, shape: [1, 1, 2, 2], data: fill([1, 1, 2, 2], 0) }, 'fp32');
  const wire = (p: FrameProperties) => checkFrameWire(Frame.encode(Frame.create(p)).finish(), DEFAULT_FRAME_LIMITS);
  const base = { request_id: 'r', model: 'm', budget_ms: 1, capture_at_ms: 1 };

  it('checks each tensor on its own: four rank-4 tensors pass the rank limit of 8', () => {
    expect(wire({ ...base, tensor: rank4('a'), inputs: [rank4('b'), rank4('c'), rank4('d')] }).violation).toBeUndefined();
  });

  it('refuses an input over a limit, naming the field', () => {
    const huge = { ...rank4('b'), shape: [65_536, 65_536] };
    expect(wire({ ...base, tensor: rank4('a'), inputs: [huge] }).violation).toMatchObject({ code: ErrorCodes.FIELD_LIMIT, details: { field: 'tensor.shape' } });
    expect(wire({ ...base, inputs: [{ ...rank4('b'), name: 'n'.repeat(200) }] }).violation).toMatchObject({ details: { field: 'tensor.name' } });
  });
});
