/**
 * Components started in any order, as a script that launches them all at once does: a sensor waits
 * for an edge node that serves its model (client/edge-wait.ts) instead of publishing frames the
 * broker would deliver to nobody. Separate OS processes over TCP.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort, spawnDynasplit, type Spawned } from '../../local-servers/index.ts';

const zoo = inject('zooDir');
const modelFile = join(zoo, 'vgg16-tiny.onnx');
let url: string;
let broker: Spawned;
const started: Spawned[] = [];

beforeAll(async () => {
  const port = await freePort();
  url = `mqtt://127.0.0.1:${port}`;
  broker = spawnDynasplit(['broker', '--host', '127.0.0.1', '--port', String(port)]);
  await broker.waitFor(new RegExp(`mqtt://127.0.0.1:${port}`));
  // The cloud is up first: an edge whose tail requests nobody takes waits for them before running the tail itself.
  const cloud = spawnDynasplit(['cloud', '--id', 'order-cloud', '--mqtt', url, '--model', `vgg16-tiny=${modelFile}`, '--threads', '1']);
  started.push(cloud);
  await cloud.waitFor(/cloud worker serving/);
}, 60_000);

afterAll(async () => {
  for (const p of started.reverse()) await p.stop();
  await broker?.stop();
});

const sensorArgs = (id: string, more: string[] = []) => ['sensor', '--id', id, '--mqtt', url, '--model', 'vgg16-tiny', '--model-file', modelFile,
  '--count', '20', '--rate', '1000', '--budgets', 'fixed:5000', '--json', ...more];

describe('start order', () => {
  it('a sensor started before any edge waits for one, and every frame is answered', async () => {
    const sensor = spawnDynasplit(sensorArgs('early-sensor'));
    started.push(sensor);
    // It is waiting: nothing serves vgg16-tiny yet. Without the wait its 20 frames would be gone by now.
    await sensor.waitFor(/no edge node serves the model yet/, 30_000);
    started.push(spawnDynasplit(['edge', '--id', 'late-edge', '--mqtt', url, '--model', `vgg16-tiny=${modelFile}`, '--threads', '1']));
    const code = await sensor.exited;
    expect(code, sensor.output()).toBe(0);
    expect(sensor.output()).toMatch(/an edge node serves the model: sending/);
    const summary = JSON.parse(sensor.stdout());
    expect(summary, JSON.stringify(summary.errorsByCode)).toMatchObject({ requests: 20, results: 20, errors: 0, unanswered: 0 });
  }, 120_000);

  it('a sensor every frame of which is answered with an error exits 1 (the edge of the test above serves it)', async () => {
    // A budget of 1 µs has run out before any frame reaches the edge: each is answered DYNASPLIT_ERR_EXPIRED.
    const sensor = spawnDynasplit(sensorArgs('doomed-sensor', ['--count', '5', '--budgets', 'fixed:0.001']));
    started.push(sensor);
    expect(await sensor.exited, sensor.output()).toBe(1);
    expect(JSON.parse(sensor.stdout())).toMatchObject({ requests: 5, results: 0, errors: 5, errorsByCode: { DYNASPLIT_ERR_EXPIRED: 5 }, unanswered: 0 });
  }, 60_000);

  it('a sensor whose model no edge serves gives up after its wait with a coded error', async () => {
    const sensor = spawnDynasplit(['sensor', '--id', 'lonely-sensor', '--mqtt', url, '--model', 'no-such-model', '--model-file', modelFile,
      '--count', '5', '--wait-for-edge', '1500']);
    started.push(sensor);
    expect(await sensor.exited).not.toBe(0);
    expect(sensor.output()).toMatch(/DYNASPLIT_ERR_NO_EDGES.*no edge node serving 'no-such-model' announced itself/);
    // The edge of the first test is up with another model: the error says so rather than "start one".
    expect(sensor.output()).toMatch(/edge nodes are up, but serve other models: late-edge \(vgg16-tiny\)/);
  }, 60_000);
});
