/**
 * A deployment of separate OS processes over TCP: `dynasplit broker`, two `dynasplit cloud`
 * workers, `dynasplit edge` and `dynasplit sensor`, each started from the command line.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { resultSink } from '../helpers/pipeline.ts';
import { freePort } from '../../local-servers/index.ts';
import { spawnDynasplit, type Spawned } from '../../local-servers/index.ts';

const zoo = inject('zooDir');
const model = () => `vgg16-tiny=${join(zoo, 'vgg16-tiny.onnx')}`;
let url: string;
const started: Spawned[] = [];
const start = (args: string[]) => {
  const p = spawnDynasplit(args);
  started.push(p);
  return p;
};

beforeAll(async () => {
  const port = await freePort();
  url = `mqtt://127.0.0.1:${port}`;
  const broker = start(['broker', '--host', '127.0.0.1', '--port', String(port)]);
  await broker.waitFor(new RegExp(`mqtt://127.0.0.1:${port}`));
  const workers = ['cloud-a', 'cloud-b'].map((id) => start(['cloud', '--id', id, '--mqtt', url, '--model', model(), '--threads', '1']));
  const edge = start(['edge', '--id', 'edge-1', '--mqtt', url, '--model', model(), '--threads', '1']);
  await Promise.all([...workers.map((w) => w.waitFor(/cloud worker serving/)), edge.waitFor(/edge node serving/)]);
}, 120_000);

afterAll(async () => {
  // Components first, the broker last, each with a graceful SIGTERM.
  const codes = [];
  for (const p of started.slice(1).reverse()) codes.push(await p.stop());
  codes.push(await started[0]?.stop());
  expect(codes.every((c) => c === 0 || c === null)).toBe(true);
});

async function sensor(id: string, count: number, rate: number): Promise<Record<string, unknown> & { workers: Record<string, number> }> {
  const run = spawnDynasplit(['sensor', '--id', id, '--mqtt', url, '--model', 'vgg16-tiny', '--model-file', join(zoo, 'vgg16-tiny.onnx'),
    '--count', String(count), '--rate', String(rate), '--budgets', 'fixed:3000', '--json']);
  const code = await run.exited;
  expect(code, run.output()).toBe(0);
  return JSON.parse(run.stdout());
}

describe('separate processes over TCP', () => {
  it('broker, two cloud workers, an edge node and a sensor answer every frame, sharing the cloud load', async () => {
    const summary = await sensor('proc-sensor', 60, 60);
    expect(summary).toMatchObject({ requests: 60, results: 60, errors: 0, unanswered: 0, duplicateResults: 0 });
    expect(Object.keys(summary.workers).sort()).toEqual(['cloud-a', 'cloud-b']);
  });

  it('a cloud worker SIGKILLed mid-run: every request id still gets exactly one result', async () => {
    // A second subscriber to the sensor's results: the kill comes after 20 answers.
    const watcher = await resultSink(url, ['kill-sensor']);
    const run = sensor('kill-sensor', 150, 50);
    await watcher.waitFor(20);
    await watcher.close();
    const victim = started.find((p) => p.proc.spawnargs.includes('cloud-a'))!;
    victim.proc.kill('SIGKILL');
    const summary = await run;
    expect(summary).toMatchObject({ requests: 150, unanswered: 0, duplicateResults: 0 });
    expect((summary.results as number) + (summary.errors as number)).toBe(150);
    started.splice(started.indexOf(victim), 1);
  });
});
