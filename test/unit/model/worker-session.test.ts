import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { isDynasplitError } from '../../../common/index.ts';
import { openSession, SessionCache } from '../../../model/index.ts';

const zoo = inject('zooDir');
const tiny = () => join(zoo, 'vgg16-tiny.onnx');
const scratch = mkdtempSync(join(tmpdir(), 'dynasplit-worker-session-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A deterministic input of vgg16-tiny's shape, as a view into a larger buffer (as a decoded message is). */
function inputView(): { view: Float32Array; buffer: ArrayBuffer } {
  const n = 3 * 32 * 32;
  const buffer = new ArrayBuffer((n + 16) * 4);
  const view = new Float32Array(buffer, 8 * 4, n);
  for (let i = 0; i < n; i++) view[i] = Math.sin(i * 0.37);
  return { view, buffer };
}

describe('sessions in a worker thread', () => {
  it('compute what a main-thread session computes, and leave the caller\'s tensors usable', async () => {
    const main = await openSession(tiny(), { threads: 1 });
    const worker = await openSession(tiny(), { threads: 1, thread: 'worker' });
    try {
      expect(worker.inputs).toEqual(main.inputs);
      expect(worker.outputNames).toEqual(main.outputNames);
      const { view, buffer } = inputView();
      const feeds = { [main.inputs[0].name]: new ort.Tensor('float32', view, [1, 3, 32, 32]) };
      const expected = (await main.run(feeds))[main.outputNames[0]];
      const got = (await worker.run(feeds))[worker.outputNames[0]];
      expect(got.dims).toEqual(expected.dims);
      expect(got.type).toBe('float32');
      expect(Array.from(got.data as Float32Array)).toEqual(Array.from(expected.data as Float32Array));
      // Only a copy crossed: the view and the larger buffer around it are intact, not detached.
      expect(buffer.byteLength).toBe((3 * 32 * 32 + 16) * 4);
      expect(view[1]).toBe(Math.fround(Math.sin(0.37)));
      // Runs queued at once all come back, each with its own answer.
      const many = await Promise.all([1, 2, 3].map(() => worker.run(feeds)));
      for (const out of many) expect(Array.from(out[worker.outputNames[0]].data as Float32Array)).toEqual(Array.from(expected.data as Float32Array));
    } finally {
      await main.release();
      await worker.release();
    }
  });

  it('refuse bad feeds with the same coded errors, and a run after release with a coded error', async () => {
    const worker = await openSession(tiny(), { threads: 1, thread: 'worker' });
    const wrong = { [worker.inputs[0].name]: new ort.Tensor('float32', new Float32Array(3 * 16 * 16), [1, 3, 16, 16]) };
    await expect(worker.run(wrong)).rejects.toSatisfy((e) => isDynasplitError(e, 'DYNASPLIT_ERR_BAD_INPUT'));
    await worker.release();
    await worker.release(); // idempotent
    const feeds = { [worker.inputs[0].name]: new ort.Tensor('float32', new Float32Array(3 * 32 * 32), [1, 3, 32, 32]) };
    await expect(worker.run(feeds)).rejects.toSatisfy((e) => isDynasplitError(e, 'DYNASPLIT_ERR_INFERENCE'));
  });

  it('fail to load a file onnxruntime cannot read with DYNASPLIT_ERR_BAD_MODEL naming it', async () => {
    const path = join(scratch, 'garbage.onnx');
    writeFileSync(path, 'not a model');
    await expect(openSession(path, { thread: 'worker' })).rejects.toSatisfy((e) => isDynasplitError(e, 'DYNASPLIT_ERR_BAD_MODEL') && (e as Error).message.includes('garbage.onnx'));
  });

  it('are cached apart from main-thread sessions of the same file', async () => {
    const cache = new SessionCache({ threads: 1 });
    try {
      const a = await cache.acquire(tiny(), { thread: 'worker' });
      const b = await cache.acquire(tiny(), { thread: 'main' });
      expect(a.session).not.toBe(b.session);
      a.release();
      b.release();
      expect(cache.stats().sessions).toBe(2);
    } finally {
      await cache.close();
    }
  });
});
