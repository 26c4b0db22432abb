/**
 * Model toolkit benchmarks: per-cut head and tail latency of the tiny models next to the unsplit
 * model in the same run, and the time to split full VGG16 next to just reading its model file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { inspectModel, loadModelFile, openSession, resolveModel, splitModelFile } from '../model/index.ts';
import { printTable, time } from './harness.ts';

const CACHE = join(import.meta.dirname, '..', '.cache', 'bench-models');

export async function benchCutLatency(name: string): Promise<void> {
  const path = await resolveModel(name, { cacheDir: CACHE });
  const report = await inspectModel(path);
  const input = new ort.Tensor('float32', new Float32Array(report.input.bytesPerSample / 4).fill(0.5), report.input.shape);
  const full = await openSession(path, { threads: 1 });
  const fullTime = await time(() => full.run({ input }), { runs: 50 });
  await full.release();
  const dir = mkdtempSync(join(tmpdir(), 'dynasplit-bench-'));
  const rows: (string | number)[][] = [];
  try {
    for (const cut of report.cutPoints) {
      const files = splitModelFile(path, cut.name, join(dir, cut.name));
      const head = await openSession(files.headPath!, { threads: 1 });
      const tail = await openSession(files.tailPath!, { threads: 1 });
      const tensor = Object.values(await head.run({ input }))[0];
      const feed = { [tail.inputs[0].name]: tensor };
      const h = await time(() => head.run({ input }), { runs: 50 });
      const t = await time(() => tail.run(feed), { runs: 50 });
      rows.push([cut.name, cut.bytesPerSample, us(h.medianMs), us(t.medianMs), us(h.medianMs + t.medianMs),
        ((h.medianMs + t.medianMs) / fullTime.medianMs).toFixed(2)]);
      await head.release();
      await tail.release();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  printTable(`${name}: head/tail latency per cut, 1 thread, batch 1 (measured, median of 50; full model ${us(fullTime.medianMs)} µs)`,
    ['cut', 'tensor bytes', 'head µs', 'tail µs', 'head+tail µs', 'vs full'], rows);
}

export async function benchSplitVgg16(): Promise<void> {
  process.stderr.write('generating vgg16 for the split benchmark (cached in .cache/bench-models)...\n');
  const path = await resolveModel('vgg16', { cacheDir: CACHE });
  const dir = mkdtempSync(join(tmpdir(), 'dynasplit-bench-split-'));
  try {
    const read = await time(() => loadModelFile(path), { runs: 20 });
    const rows = [['read + check model file (baseline)', ms(read.medianMs), ms(read.p90Ms)]];
    for (const cut of ['features.pool3', 'features.pool5', 'classifier.relu1']) {
      const t = await time(() => splitModelFile(path, cut, join(dir, cut)), { runs: 20 });
      rows.push([`split at ${cut} (head + tail written)`, ms(t.medianMs), ms(t.p90Ms)]);
    }
    printTable('vgg16 (138M parameters, 528 MiB weights): split time (measured, median of 20)', ['operation', 'median ms', 'p90 ms'], rows);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const us = (milliseconds: number) => (milliseconds * 1000).toFixed(0);
const ms = (milliseconds: number) => milliseconds.toFixed(2);
