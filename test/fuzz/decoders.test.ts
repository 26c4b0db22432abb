/**
 * The short fuzz run: every decoder property for a few hundred cases, seeded so that CI replays the
 * same cases. The long run is `tsx test/fuzz/run.ts` (100,000 cases per property; see its --help).
 * A failure prints fast-check's counterexample with `seed` and `path`; to replay it under the
 * long runner: `tsx test/fuzz/run.ts --only '<name>' --seed 20240601 --path <path>`.
 * Properties marked `knownBug` fail on a bug not fixed yet; they run only in the long run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { PROPERTIES } from './properties.ts';
import { DECODERS, SHORT_RUNS, seedFor, type FuzzContext } from './property.ts';

/** Base seed of the short run (each property derives its own from it and its name). */
const SHORT_RUN_SEED = 20240601;

const closers: (() => Promise<void>)[] = [];
const ctx: FuzzContext = { zooDir: inject('zooDir'), workDir: mkdtempSync(join(tmpdir(), 'dynasplit-fuzz-')), onClose: (fn) => closers.push(fn) };
afterAll(async () => {
  for (const close of closers) await close();
  rmSync(ctx.workDir, { recursive: true, force: true });
});

describe('fuzz properties', () => {
  it('are uniquely named, each decoder has some in the test run, and every known bug says where', () => {
    expect(new Set(PROPERTIES.map((p) => p.name)).size).toBe(PROPERTIES.length);
    for (const decoder of DECODERS) expect(PROPERTIES.some((p) => p.decoder === decoder && !p.knownBug), decoder).toBe(true);
    for (const p of PROPERTIES.filter((q) => q.knownBug)) expect(p.knownBug, p.name).toMatch(/\.ts:\d+/);
  });
});

for (const decoder of DECODERS) {
  describe(`fuzz: ${decoder}`, () => {
    for (const property of PROPERTIES.filter((p) => p.decoder === decoder && !p.knownBug)) {
      it(property.name, async () => {
        await fc.assert(await property.build(ctx), {
          numRuns: property.shortRuns ?? SHORT_RUNS,
          seed: seedFor(property.name, SHORT_RUN_SEED),
          includeErrorInReport: true,
        });
      }, property.shortRunTimeoutMs);
    }
  });
}
