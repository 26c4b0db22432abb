/**
 * An edge node process whose state directory is on a full disk: a tmpfs of 2 MiB mounted for the
 * test (so it needs root; skipped, saying so, otherwise) and filled up. Started on the full disk it
 * serves: it answers the frames its journal holds, drops the one that failed at every replay allowed
 * (answered DYNASPLIT_ERR_REPLAY_LIMIT), refuses new frames with the retryable DYNASPLIT_ERR_STORAGE,
 * and takes them again once there is room; the same when the disk fills while it runs. Each frame
 * the broker took is answered exactly once, and an unrelated sensor is served at the end.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { startBroker, type BrokerHandle } from '../../broker/index.ts';
import { startCloudWorker, type CloudWorker } from '../../cloud-worker/index.ts';
import { ErrorCodes } from '../../common/index.ts';
import { encodeRecord, RecordKind } from '../../edge-node/index.ts';
import { Frame } from '../../schemas/index.ts';
import { frame, inputs, resultSink, type ResultSink } from '../helpers/pipeline.ts';
import { spawnDynasplit } from '../../local-servers/index.ts';

const zoo = inject('zooDir');
const MODEL = 'vgg16-tiny';
const SHAPE = [1, 3, 32, 32];
const SENSOR = 'disk-sensor';
const BYSTANDER = 'disk-bystander';
const [x] = inputs(SHAPE, 1, 17);
const root = process.getuid?.() === 0;

let mountPoint: string;
let broker: BrokerHandle;
let cloud: CloudWorker;
let sink: ResultSink;

/** Fills the tmpfs until it has no room left. */
function fill(): void {
  const chunk = Buffer.alloc(64 * 1024, 1);
  for (;;) {
    try {
      appendFileSync(join(mountPoint, 'filler'), chunk);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOSPC') return;
      throw err;
    }
  }
}

const unfill = () => rmSync(join(mountPoint, 'filler'), { force: true });

/** Sends frames, as a sensor retrying a retryable refusal, until one is answered with a prediction; the ids sent. */
async function sendUntilServed(prefix: string): Promise<string[]> {
  const sent: string[] = [];
  await vi.waitFor(async () => {
    const id = `${prefix}-${sent.length}`;
    sent.push(id);
    await sink.publishFrame(SENSOR, frame(id, SENSOR, MODEL, SHAPE, x, 30_000));
    await vi.waitFor(() => expect(sink.byId.has(id)).toBe(true), { timeout: 30_000, interval: 20 });
    const [result] = sink.byId.get(id)!;
    expect(result.error?.code ?? 'served').toBe('served');
  }, { timeout: 30_000, interval: 100 });
  return sent;
}

describe.skipIf(!root)('edge node on a full disk (mounts a tmpfs: needs root)', () => {
  beforeAll(async () => {
    mountPoint = mkdtempSync(join(tmpdir(), 'dynasplit-full-disk-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mountPoint]);
    broker = await startBroker({ host: '127.0.0.1', port: 0 });
    cloud = await startCloudWorker({ workerId: 'disk-cloud', mqttUrl: broker.url, models: { [MODEL]: join(zoo, `${MODEL}.onnx`) }, threads: 1 });
    sink = await resultSink(broker.url, [SENSOR, BYSTANDER]);
  });

  afterAll(async () => {
    await sink?.close();
    await cloud?.close();
    await broker?.close();
    if (mountPoint) {
      execFileSync('umount', [mountPoint]);
      rmSync(mountPoint, { recursive: true, force: true });
    }
  });

  it('starts on a full disk, answers what its journal holds, refuses new frames retryably, and serves again once there is room', async () => {
    const stateDir = join(mountPoint, 'state');
    mkdirSync(stateDir);
    // What a node that crashed had acknowledged: two frames, and one it already died on three times.
    const record = (id: string, replays: number) => {
      const payload = Frame.encode(Frame.create(frame(id, SENSOR, MODEL, SHAPE, x, 120_000))).finish();
      const key = `${SENSOR}/${id}`;
      return Buffer.concat([
        encodeRecord({ kind: RecordKind.frame, key, sensorId: SENSOR, payload }),
        ...Array.from({ length: replays }, () => encodeRecord({ kind: RecordKind.replay, key, sensorId: SENSOR, payload: new Uint8Array(0) })),
      ]);
    };
    writeFileSync(join(stateDir, 'journal-00000001.log'), Buffer.concat([record('held-1', 0), record('held-2', 1), record('poison', 3)]));
    fill();

    const edge = spawnDynasplit(['edge', '--id', 'disk-edge', '--mqtt', broker.url, '--model', `${MODEL}=${join(zoo, `${MODEL}.onnx`)}`,
      '--threads', '1', '--state-dir', stateDir, '--log-level', 'info']);
    try {
      await edge.waitFor(/edge node serving/);
      expect(edge.output()).toMatch(/journal cannot be written/);
      await vi.waitFor(() => expect(['held-1', 'held-2', 'poison'].every((id) => sink.byId.has(id))).toBe(true), { timeout: 60_000, interval: 20 });
      for (const id of ['held-1', 'held-2']) expect(sink.byId.get(id)![0].error, id).toBeFalsy();
      expect(sink.byId.get('poison')![0].error?.code).toBe(ErrorCodes.REPLAY_LIMIT);

      // New frames on the full disk: refused, retryable, and the node lives on.
      await sink.publishFrame(SENSOR, frame('while-full', SENSOR, MODEL, SHAPE, x, 30_000));
      await vi.waitFor(() => expect(sink.byId.has('while-full')).toBe(true), { timeout: 30_000, interval: 20 });
      expect(sink.byId.get('while-full')![0].error).toMatchObject({ code: ErrorCodes.STORAGE, retryable: true });
      unfill();
      const afterStart = await sendUntilServed('after-start');

      // The disk fills while the node runs: the same.
      fill();
      await sink.publishFrame(SENSOR, frame('mid-full', SENSOR, MODEL, SHAPE, x, 30_000));
      await vi.waitFor(() => expect(sink.byId.has('mid-full')).toBe(true), { timeout: 30_000, interval: 20 });
      expect(sink.byId.get('mid-full')![0].error).toMatchObject({ code: ErrorCodes.STORAGE, retryable: true });
      unfill();
      const afterRun = await sendUntilServed('after-run');

      await sink.publishFrame(BYSTANDER, frame('bystander', BYSTANDER, MODEL, SHAPE, x, 30_000));
      await vi.waitFor(() => expect(sink.byId.has('bystander')).toBe(true), { timeout: 30_000, interval: 20 });
      expect(sink.byId.get('bystander')![0].error).toBeFalsy();
      expect(edge.proc.exitCode).toBeNull();
      for (const id of ['held-1', 'held-2', 'poison', 'while-full', 'mid-full', 'bystander', ...afterStart, ...afterRun]) {
        expect(sink.byId.get(id)?.length, id).toBe(1);
      }
    } finally {
      unfill();
      await edge.stop();
    }
  }, 180_000);
});
