/**
 * A durable edge node (a state directory) commits frames in groups: frames that arrive while its
 * journal's flush is in flight are read, written and flushed together by the next one, and none is
 * run, answered or acknowledged to the broker (PUBACK, seen by the broker's 'ack') before its flush
 * has landed. A failed flush refuses every frame waiting for it (DYNASPLIT_ERR_STORAGE, retryable),
 * answered before its PUBACK, and the node serves again once the journal is rewritten. The flushes
 * wait for the test (the journal's file-system seam); everything else is real: broker, worker, edge.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { ErrorCodes } from '../../common/index.ts';
import { nodeFs, type JournalFs } from '../../edge-node/index.ts';
import { Frame, Result, topics } from '../../schemas/index.ts';
import { frame, inputs, startEmbeddedPipeline, type EmbeddedPipeline } from '../helpers/pipeline.ts';

const zoo = inject('zooDir');
const MODEL = 'vgg16-tiny';
const SHAPE = [1, 3, 32, 32];
const SENSOR = `group-sensor-${process.pid}`;
const [x] = inputs(SHAPE, 1, 23);

/** node:fs whose asynchronous flushes wait for the test while `holding`. */
class HeldFlushes {
  holding = false;
  flushes = 0;
  frameWrites = 0;
  pending: { land(): void; fail(): void }[] = [];
  readonly fs: JournalFs = {
    ...nodeFs,
    writeSync: (fd, buffer, offset, length, position) => {
      this.frameWrites++;
      return nodeFs.writeSync(fd, buffer, offset, length, position);
    },
    fdatasync: (fd) => {
      this.flushes++;
      if (!this.holding) return nodeFs.fdatasync!(fd);
      return new Promise<void>((resolve, reject) => {
        const flush = {
          land: () => { this.pending.splice(this.pending.indexOf(flush), 1); nodeFs.fdatasyncSync(fd); resolve(); },
          fail: () => { this.pending.splice(this.pending.indexOf(flush), 1); reject(Object.assign(new Error('EIO: injected'), { code: 'EIO' })); },
        };
        this.pending.push(flush);
      });
    },
  };
}

const flushes = new HeldFlushes();
const state = mkdtempSync(join(tmpdir(), 'dynasplit-group-commit-'));
let pipeline: EmbeddedPipeline;
/** Request ids whose frame the edge acknowledged to the broker, in order. */
const acked: string[] = [];

beforeAll(async () => {
  pipeline = await startEmbeddedPipeline({ models: { [MODEL]: join(zoo, `${MODEL}.onnx`) }, threads: 1 }, [SENSOR], {
    edge: { stateDir: join(state, 'edge') },
    edgeDeps: { journalFs: flushes.fs },
  });
  pipeline.broker.aedes.on('ack', (packet, client) => {
    if (client.id !== pipeline.edge.edgeId || packet?.cmd !== 'publish' || packet.topic !== topics.frames(SENSOR)) return;
    acked.push(Frame.decode(packet.payload as Uint8Array).request_id);
  });
});

afterAll(async () => {
  flushes.holding = false;
  for (const flush of [...flushes.pending]) flush.land();
  await pipeline?.close();
  rmSync(state, { recursive: true, force: true });
});

const answered = (id: string) => pipeline.sink.byId.get(id) ?? [];

describe('group commit at a durable edge', () => {
  it('frames arriving during a flush share the next; none is run, answered or acknowledged before its flush', async () => {
    const { sink } = pipeline;
    const ids = [...Array(8).keys()].map((i) => `group-${i}`);
    flushes.holding = true;
    const flushesBefore = flushes.flushes;
    await sink.publishFrame(SENSOR, frame(ids[0], SENSOR, MODEL, SHAPE, x, 30_000));
    await vi.waitFor(() => expect(flushes.pending).toHaveLength(1));
    const writes = flushes.frameWrites;
    for (const id of ids.slice(1)) await sink.publishFrame(SENSOR, frame(id, SENSOR, MODEL, SHAPE, x, 30_000));
    // Read and written while the first flush is in flight; no second flush until it lands.
    await vi.waitFor(() => expect(flushes.frameWrites - writes).toBe(7));
    expect(flushes.pending).toHaveLength(1);
    expect(acked).toEqual([]);
    expect(ids.flatMap(answered)).toEqual([]);

    flushes.pending[0].land();
    await vi.waitFor(() => expect(answered(ids[0])).toHaveLength(1));
    await vi.waitFor(() => expect(acked).toEqual([ids[0]]));
    // The other seven wait for one more flush, together.
    expect(flushes.pending).toHaveLength(1);
    expect(ids.slice(1).flatMap(answered)).toEqual([]);

    flushes.pending[0].land();
    await vi.waitFor(() => expect(ids.map((id) => answered(id).length)).toEqual(ids.map(() => 1)), { timeout: 30_000 });
    await vi.waitFor(() => expect(acked).toEqual(ids));
    expect(flushes.flushes - flushesBefore).toBe(2);
    for (const id of ids) expect(answered(id)[0].error ?? null).toBeNull();
  });

  it('a failed flush refuses every frame waiting for it (STORAGE, retryable) before their PUBACKs, and the node serves again', async () => {
    const { sink } = pipeline;
    const ids = [...Array(3).keys()].map((i) => `failed-${i}`);
    acked.length = 0;
    flushes.holding = true;
    await sink.publishFrame(SENSOR, frame(ids[0], SENSOR, MODEL, SHAPE, x, 30_000));
    await vi.waitFor(() => expect(flushes.pending).toHaveLength(1));
    const writes = flushes.frameWrites;
    for (const id of ids.slice(1)) await sink.publishFrame(SENSOR, frame(id, SENSOR, MODEL, SHAPE, x, 30_000));
    await vi.waitFor(() => expect(flushes.frameWrites - writes).toBe(2));
    // What the broker read from the edge, in the order it read them: each refusal, each PUBACK
    // (aedes authorizes a PUBLISH, and clears a PUBACK's message id, as it reads the packet).
    const order: string[] = [];
    const { aedes } = pipeline.broker;
    const authorize = aedes.authorizePublish;
    aedes.authorizePublish = (client, packet, callback) => {
      if (client?.id === pipeline.edge.edgeId && packet.topic === topics.results(SENSOR)) order.push(`answer ${Result.decode(packet.payload as Uint8Array).request_id}`);
      authorize.call(aedes, client, packet, callback);
    };
    const { persistence } = aedes as unknown as { persistence: { outgoingClearMessageId(client: { id: string }, packet: { messageId: number }): Promise<{ topic: string; payload: Uint8Array } | undefined> } };
    const clear = persistence.outgoingClearMessageId;
    persistence.outgoingClearMessageId = async function (client, packet) {
      const position = order.push('ack') - 1;
      const sent = await clear.call(this, client, packet);
      if (client.id === pipeline.edge.edgeId && sent?.topic === topics.frames(SENSOR)) order[position] = `ack ${Frame.decode(sent.payload).request_id}`;
      return sent;
    };
    flushes.pending[0].fail();
    await vi.waitFor(() => expect(acked).toEqual(ids));
    for (const id of ids) {
      const [result] = answered(id);
      expect(result.error).toMatchObject({ code: ErrorCodes.STORAGE, retryable: true });
    }
    // Each refusal went out on the edge's connection before its PUBACK.
    for (const id of ids) expect(order.indexOf(`answer ${id}`)).toBeLessThan(order.indexOf(`ack ${id}`));
    expect(order.filter((event) => event.startsWith('answer'))).toHaveLength(3);

    // The journal is rewritten at the next frame after its retry interval: a sensor retrying is served.
    flushes.holding = false;
    let tries = 0;
    await vi.waitFor(async () => {
      const id = `after-${tries++}`;
      await sink.publishFrame(SENSOR, frame(id, SENSOR, MODEL, SHAPE, x, 30_000));
      await vi.waitFor(() => expect(answered(id)).toHaveLength(1), { timeout: 10_000 });
      expect(answered(id)[0].error ?? null).toBeNull();
    }, { timeout: 30_000, interval: 200 });
  });
});
