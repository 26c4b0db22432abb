import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { GENERATED_PATH, HEADER, assembleKernels, generatedSource } from '../../../codec/simd/generate.ts';

describe('generated WebAssembly kernels', () => {
  it('codec/simd/kernels-wasm.ts is kernels.wat assembled (run `npm run gen:wasm` when this fails)', async () => {
    const fresh = generatedSource(await assembleKernels());
    expect(fresh.startsWith(HEADER)).toBe(true);
    const committed = await readFile(GENERATED_PATH, 'utf8');
    expect(committed, 'codec/simd/kernels-wasm.ts is stale').toBe(fresh);
  });

  it('assembles deterministically', async () => {
    const [a, b] = await Promise.all([assembleKernels(), assembleKernels()]);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
  });
});
