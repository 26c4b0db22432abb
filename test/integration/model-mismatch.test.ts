/**
 * An edge node and a cloud worker serving one model name from different files (other weights: a
 * re-trained export, a rolling update half done). The worker refuses every tail request whose
 * fingerprint is not its file's (DYNASPLIT_ERR_MODEL_MISMATCH) instead of joining one model's head to
 * another's tail, and the edge answers from its own model (edge_fallback), never a mixed answer.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeTensor } from '../../codec/index.ts';
import { ErrorCodes, rootLogger } from '../../common/index.ts';
import { inspectModel, topK } from '../../model/index.ts';
import { loadModelFile, writeModelFile } from '../../model/onnx/index.ts';
import { configuration } from '../../policy/index.ts';
import { startEmbeddedPipeline, type EmbeddedPipeline } from '../helpers/pipeline.ts';

const FIXTURE = join(import.meta.dirname, '../fixtures/models/resnet-tiny.onnx');
const expected = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/models/resnet-tiny.expected.json'), 'utf8')) as { probe: Record<string, number[]> };
const scratch = mkdtempSync(join(tmpdir(), 'dynasplit-mismatch-'));
const SENSOR = 'mismatch-sensor';
let pipeline: EmbeddedPipeline;
const edgeLog: string[] = [];

/** The fixture with every weight of its last layer scaled: the same graph, other answers. */
function retrained(path: string): void {
  const file = loadModelFile(FIXTURE);
  const last = file.model.graph.initializer.filter((t) => t.raw_data?.length && t.data_type === 1).at(-1)!;
  const weights = new Float32Array(new Uint8Array(last.raw_data!).slice().buffer);
  for (let i = 0; i < weights.length; i++) weights[i] = -3 * weights[i] + 0.01 * i;
  last.raw_data = new Uint8Array(weights.buffer);
  writeModelFile(path, file.model);
}

beforeAll(async () => {
  const edgeFile = join(scratch, 'edge.onnx');
  const cloudFile = join(scratch, 'cloud.onnx');
  copyFileSync(FIXTURE, edgeFile);
  retrained(cloudFile);
  pipeline = await startEmbeddedPipeline({ models: { m: edgeFile }, threads: 1, workDir: join(scratch, 'work') }, [SENSOR], {
    cloud: { models: { m: cloudFile } },
    edgeDeps: { logger: rootLogger('info', { write: (line) => { edgeLog.push(line); } }) },
  });
});

afterAll(async () => {
  await pipeline?.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe('edge and cloud serving different files under one model name', () => {
  it('every tail request is refused MODEL_MISMATCH, and each frame is answered from the edge\'s own model', async () => {
    const { sink, cloud } = pipeline;
    const { cutPoints } = await inspectModel(FIXTURE);
    const cuts = [cutPoints[Math.floor(cutPoints.length / 2)].name, 'input'];
    const shape = [1, 3, 32, 32];
    const data = Float32Array.from({ length: 3 * 32 * 32 }, (_, i) => Math.sin(0.01 * i));
    for (const cut of cuts) {
      await sink.publishFrame(SENSOR, {
        request_id: `r-${cut}`, sensor_id: SENSOR, model: 'm', budget_ms: 30_000, capture_at_ms: Date.now(),
        tensor: encodeTensor({ name: 'input', shape, data }, 'fp32'), configuration: configuration({ cut, codec: 'fp32' }),
      });
    }
    await sink.waitFor(cuts.length);
    const want = topK(Float32Array.from(expected.probe.logits), 5).map((p) => p.index);
    for (const cut of cuts) {
      const [r] = sink.byId.get(`r-${cut}`)!;
      expect(r.error?.code ?? '', r.error?.message ?? '').toBe('');
      expect(r.edge_fallback, cut).toBe(true);
      expect(r.top_k.map((p) => p.index), cut).toEqual(want);
    }
    expect(cloud.stats().errors[ErrorCodes.MODEL_MISMATCH]).toBe(cuts.length);
    // The operator sees why the cloud gets no traffic: one line per cause (repeats are counted).
    const fallbacks = edgeLog.map((l) => JSON.parse(l) as { msg: string; code?: string }).filter((l) => l.msg === 'the cloud did not answer; the edge ran the tail');
    // It names the worker that refused, the request, and the worker's reason.
    expect(fallbacks[0]).toMatchObject({
      code: ErrorCodes.MODEL_MISMATCH, worker: pipeline.cloud.workerId, requestId: expect.stringMatching(/^r-/), reason: expect.stringMatching(/fingerprint/),
    });
  });
});
