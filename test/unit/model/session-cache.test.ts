import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { isDynasplitError } from '../../../common/index.ts';
import { modelWeightBytes, openSession, SessionCache } from '../../../model/index.ts';

const zoo = inject('zooDir');
const vgg = () => join(zoo, 'vgg16-tiny.onnx');
const vit = () => join(zoo, 'vit-tiny.onnx');

describe('SessionCache', () => {
  it('keeps sessions warm and evicts the least recently used idle one when the budget is full', async () => {
    const budget = Math.max(modelWeightBytes(vgg()), modelWeightBytes(vit())) + 1024;
    const cache = new SessionCache({ memoryBudgetBytes: budget, threads: 1 });
    try {
      const a = await cache.acquire(vgg());
      a.release();
      const again = await cache.acquire(vgg());
      expect(again.session).toBe(a.session);
      again.release();
      expect(cache.stats()).toMatchObject({ sessions: 1, evictions: 0 });
      const b = await cache.acquire(vit());
      expect(cache.stats()).toMatchObject({ sessions: 1, evictions: 1 });
      b.release();
    } finally {
      await cache.close();
    }
  });

  it('never evicts a session in use', async () => {
    const cache = new SessionCache({ memoryBudgetBytes: modelWeightBytes(vgg()) + 1024, threads: 1 });
    try {
      const held = await cache.acquire(vgg());
      await cache.acquire(vit());
      expect(cache.stats().sessions).toBe(2);
      const result = await held.session.run({ input: new (await import('onnxruntime-node')).Tensor('float32', new Float32Array(3 * 32 * 32), [1, 3, 32, 32]) });
      expect(Object.keys(result)).toEqual(['logits']);
    } finally {
      await cache.close();
    }
  });

  it('counts a lease released twice once: a later holder of the same session keeps it from eviction', async () => {
    const cache = new SessionCache({ memoryBudgetBytes: modelWeightBytes(vgg()) + 1024, threads: 1 });
    try {
      const first = await cache.acquire(vgg());
      first.release();
      first.release();
      const held = await cache.acquire(vgg());
      expect(held.session).toBe(first.session);
      await cache.acquire(vit());
      expect(cache.stats()).toMatchObject({ sessions: 2, evictions: 0 });
      held.release();
    } finally {
      await cache.close();
    }
  });

  it('shares a session between callers whose options come to the same, and opens another for other options', async () => {
    const cache = new SessionCache({ threads: 1 });
    try {
      const plain = await cache.acquire(vgg());
      const same = await cache.acquire(vgg(), { threads: 1, thread: 'main', label: 'another name' });
      const other = await cache.acquire(vgg(), { threads: 2 });
      expect(same.session).toBe(plain.session);
      expect(other.session).not.toBe(plain.session);
      expect(cache.stats()).toMatchObject({ sessions: 2, loads: 2 });
      for (const lease of [plain, same, other]) lease.release();
    } finally {
      await cache.close();
    }
  });

  it('loads a part once when two callers ask for it at the same time (a warm-up beside a frame)', async () => {
    const cache = new SessionCache({ threads: 1 });
    try {
      const [a, b] = await Promise.all([cache.acquire(vgg()), cache.acquire(vgg())]);
      expect(a.session).toBe(b.session);
      expect(cache.stats()).toMatchObject({ sessions: 1, loads: 1, evictions: 0 });
      a.release();
      b.release();
      (await cache.acquire(vgg())).release();
      expect(cache.stats().loads).toBe(1);
    } finally {
      await cache.close();
    }
  });

  it('does not evict a session a caller leased while an eviction was releasing others', async () => {
    const budget = Math.max(modelWeightBytes(vgg()), modelWeightBytes(vit())) + 1024;
    const cache = new SessionCache({ memoryBudgetBytes: budget, threads: 1 });
    try {
      (await cache.acquire(vgg())).release();
      const loading = cache.acquire(vit()); // evicts vgg16-tiny
      const again = cache.acquire(vgg()); // a fresh load of it, not the session being released
      const [v, g] = await Promise.all([loading, again]);
      const result = await g.session.run({ input: new (await import('onnxruntime-node')).Tensor('float32', new Float32Array(3 * 32 * 32), [1, 3, 32, 32]) });
      expect(Object.keys(result)).toEqual(['logits']);
      expect(cache.stats()).toMatchObject({ loads: 3, evictions: 1 });
      v.release();
      g.release();
    } finally {
      await cache.close();
    }
  });

  it('refuses, without evicting, a session that fits only by evicting when asked not to evict; serves a loaded one', async () => {
    const budget = Math.max(modelWeightBytes(vgg()), modelWeightBytes(vit())) + 1024;
    const cache = new SessionCache({ memoryBudgetBytes: budget, threads: 1 });
    try {
      (await cache.acquire(vgg())).release();
      const refused = await cache.acquire(vit(), { evict: false }).catch((err: unknown) => err);
      expect(isDynasplitError(refused, 'DYNASPLIT_ERR_MEMORY_BUDGET')).toBe(true);
      expect((refused as Error).message).toMatch(/only by evicting another session/);
      expect(cache.stats()).toMatchObject({ sessions: 1, evictions: 0, loads: 1 });
      const loaded = await cache.acquire(vgg(), { evict: false });
      loaded.release();
      const worker = await cache.acquire(vgg(), { thread: 'worker', evict: false }).catch((err: unknown) => err);
      expect(isDynasplitError(worker, 'DYNASPLIT_ERR_MEMORY_BUDGET')).toBe(true);
      expect(cache.stats()).toMatchObject({ sessions: 1, evictions: 0, loads: 1, workerSessions: 0 });
    } finally {
      await cache.close();
    }
  });

  it('refuses a model larger than the whole budget', async () => {
    const cache = new SessionCache({ memoryBudgetBytes: 1024 });
    await expect(cache.acquire(vgg())).rejects.toSatisfy((err) => isDynasplitError(err, 'DYNASPLIT_ERR_MEMORY_BUDGET'));
    await cache.close();
  });
});

describe('execution providers', () => {
  it('falls back to CPU with a message saying why when the accelerator is absent', async () => {
    const messages: string[] = [];
    const session = await openSession(vgg(), { executionProvider: 'no-such-accelerator', onFallback: (m) => messages.push(m) });
    expect(session.provider).toBe('cpu');
    expect(session.fallback).toMatch(/execution provider 'no-such-accelerator' is not available in this onnxruntime build; running .* on CPU/);
    expect(messages).toEqual([session.fallback]);
    await session.release();
  });

  it('runs on CPU when asked, with no fallback', async () => {
    const session = await openSession(vgg(), { executionProvider: 'cpu', threads: 1, graphOptimizationLevel: 'basic' });
    expect(session.fallback).toBeUndefined();
    await session.release();
  });
});
