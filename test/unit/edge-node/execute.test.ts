/**
 * execute() against a real MQTT transport (aedes on port 0) and a worker-side transport whose
 * handler each test chooses: the time the cloud is given, and the edge's fallback when the cloud is
 * silent or answers with an error.
 */
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { startBroker, type BrokerHandle } from '../../../broker/index.ts';
import { DynasplitError, ErrorCodes, Limiter, wallClockMs, type Slot } from '../../../common/index.ts';
import { cloudWaitMs, execute, FINISH_MS, priorTailMs, TAIL_MARGIN, type ExecuteContext } from '../../../edge-node/execute.ts';
import type { Admitted } from '../../../edge-node/frames.ts';
import { defaultServedCard, startNodeRuntime, type NodeRuntime } from '../../../node-runtime/index.ts';
import { configuration, EDGE_ONLY_CUT, type Entry } from '../../../policy/index.ts';
import type { TailReplyProperties, TailRequest } from '../../../schemas/index.ts';
import { createMqttTransport, type Serving, type TensorTransport } from '../../../transport/index.ts';
import { withBusyInferenceStart } from '../../helpers/busy.ts';

const MODEL = 'vgg16-tiny';
const SHAPE = [1, 3, 32, 32];
const unique = (name: string) => `${name}-${Math.random().toString(36).slice(2, 8)}`;

let broker: BrokerHandle;
let edge: NodeRuntime;
let worker: TensorTransport;
let serving: Serving;
let cut: string;
/** What the worker does with the next requests; a silent one waits until the test releases it. */
let answer: (request: TailRequest) => Promise<TailReplyProperties>;
const silent: Array<() => void> = [];

beforeAll(async () => {
  broker = await startBroker({ host: '127.0.0.1', port: 0 });
  edge = await startNodeRuntime({
    role: 'edge', nodeId: unique('edge'), nodeClass: 'default', models: { [MODEL]: join(inject('zooDir'), `${MODEL}.onnx`) }, modelCacheDir: inject('zooDir'),
    workDir: join(inject('zooDir'), unique('work')), memoryBudgetMb: 256, threads: 1, profile: 'host', energyMeter: 'modelled',
    transport: 'mqtt', mqttUrl: broker.url, natsUrl: '',
  });
  cut = edge.models.get(MODEL).inspection.cutPoints[0].name;
  worker = await createMqttTransport({ url: broker.url, clientId: unique('worker') });
  serving = await worker.serve((request) => answer(request), { models: [MODEL], workerId: 'w1' });
});

afterEach(() => {
  silent.splice(0).forEach((release) => release());
});

afterAll(async () => {
  await serving?.close();
  await worker?.close();
  await edge?.close();
  await broker?.close();
});

/** `now`: the node's clock (a frozen one makes the time left exact). */
function context(tailEstimateMs: number, now: () => number = wallClockMs) {
  const timeouts: number[] = [];
  const tails: Array<[string, string]> = [];
  const transport: TensorTransport = {
    kind: edge.transport.kind,
    request: (request, options) => {
      timeouts.push(options.timeoutMs);
      return edge.transport.request(request, options);
    },
    serve: (handler, options) => edge.transport.serve(handler, options),
    close: () => edge.transport.close(),
  };
  const ctx: ExecuteContext = {
    models: edge.models, transport, hardware: edge.hardware, edgeId: 'e1', threads: 1, minCloudWaitMs: 50,
    now,
    computeSlot: async () => ({ release: () => undefined }),
    tailEstimateMs: () => tailEstimateMs,
    recordTail: (model, at) => tails.push([model, at]),
  };
  return { ctx, timeouts, tails };
}

function admitted(deadlineAtMs: number, seed = 1): Admitted {
  const data = Float32Array.from({ length: SHAPE.reduce((a, b) => a * b) }, (_, i) => Math.sin(i * seed) * 0.5);
  const requestId = unique('r');
  return {
    key: `s/${requestId}`, requestId, sensorId: 's', model: MODEL, budgetMs: 0, captureAtMs: 0, deadlineAtMs, accuracyFloor: 0,
    inputs: { [edge.models.get(MODEL).inputName]: new ort.Tensor('float32', data, SHAPE) }, card: defaultServedCard(edge.models.get(MODEL).inputs), preprocessMs: 0,
  };
}

const entryAt = (at: string): Entry => ({ configuration: configuration({ cut: at, codec: 'fp32' }), latencyMs: 0, latencyP95Ms: 0, energyJ: 0, accuracy: 0 });
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('execute', () => {
  it('gives the cloud what is left of the budget after the expected edge tail, and at least minCloudWaitMs', async () => {
    answer = async () => { throw new DynasplitError(ErrorCodes.BAD_INPUT, 'refused'); };
    const now = wallClockMs();
    // The node's clock frozen: the time left is exact.
    const roomy = context(300, () => now);
    await execute(admitted(now + 2_000), entryAt(cut), roomy.ctx);
    // The tail's estimate with its margin, and the time to publish the result, kept back.
    expect(roomy.timeouts).toEqual([2_000 - 300 * TAIL_MARGIN - FINISH_MS]);
    const tight = context(1_980, () => now);
    await execute(admitted(now + 2_000), entryAt(cut), tight.ctx);
    expect(tight.timeouts).toEqual([50]);
  });

  it('gives the cloud all that is left when the edge tail could not meet the deadline anyway', async () => {
    // A fallback's tail took longer than this budget: keeping room for it would send the request to the
    // edge after minCloudWaitMs, late, and every such fallback would keep the estimate high.
    answer = async () => { throw new DynasplitError(ErrorCodes.BAD_INPUT, 'refused'); };
    const now = wallClockMs();
    const slowEdge = context(5_000, () => now);
    await execute(admitted(now + 2_000), entryAt(cut), slowEdge.ctx);
    expect(slowEdge.timeouts).toEqual([2_000]);
    expect(cloudWaitMs(561, 2_200, 5)).toBe(561);
    expect(cloudWaitMs(3_000, 2_200, 5)).toBe(3_000 - 2_200 * TAIL_MARGIN - FINISH_MS);
    // Where the margin does not fit but the tail does, only the tail is kept back.
    expect(cloudWaitMs(2_400, 2_200, 5)).toBe(200);
    expect(cloudWaitMs(2_203, 2_200, 5)).toBe(5);
    // Nothing measured yet: the head's time, scaled by the FLOPs on either side of the cut.
    expect(priorTailMs(10, { head: 100, tail: 300 })).toBe(30);
    expect(priorTailMs(10, { head: 0, tail: 300 })).toBe(0);
  });

  it('holds the cloud to the emulated clock: host time beyond a faster emulated device moves the deadline', async () => {
    answer = async () => { throw new DynasplitError(ErrorCodes.BAD_INPUT, 'refused'); };
    const deadlines: Array<[number, number]> = [];
    let hostBeyondMs = 0;
    // A device ten times faster than the host: 90% of the head's host time is no time of the device.
    const hardware = Object.assign(Object.create(edge.hardware), {
      emulated: true,
      dilate: async (hostMs: number) => { hostBeyondMs += hostMs * 0.9; return hostMs * 0.1; },
    });
    const { ctx } = context(0);
    const spy: ExecuteContext = {
      ...ctx, hardware,
      transport: { ...ctx.transport, request: (request, options) => { deadlines.push([request.deadline_at_ms as number, hostBeyondMs]); return ctx.transport.request(request, options); } },
    };
    const deadline = Date.now() + 30_000;
    await execute(admitted(deadline), entryAt(cut), spy);
    // The head's host time beyond the device's, as it stood when the request left (the fallback tail adds more).
    const [[sent, beyond]] = deadlines;
    expect(beyond).toBeGreaterThan(0);
    expect(sent).toBeCloseTo(deadline + beyond, 6);
  });

  it('runs the tail on the edge when the cloud does not answer in time, and records its time', async () => {
    answer = () => new Promise((resolve) => silent.push(() => resolve({}))); // answers only after the test
    const now = wallClockMs();
    const { ctx, timeouts, tails } = context(960, () => now);
    const req = admitted(now + 1_000, 2);
    const outcome = await execute(req, entryAt(cut), ctx);
    expect(timeouts).toEqual([50]);
    expect(outcome).toMatchObject({ edgeFallback: true, fallbackCode: ErrorCodes.TIMEOUT, workerId: '', cloudEnergyJ: 0 });
    expect(outcome.tensorBytes).toBe(edge.models.get(MODEL).inspection.cutPoints[0].bytesPerSample);
    expect(tails).toEqual([[MODEL, cut]]);
    // The edge's own tail gives the unsplit model's answer.
    const local = await execute(req, entryAt(EDGE_ONLY_CUT), context(0).ctx);
    const [logits] = edge.models.get(MODEL).outputs.map((o) => o.name);
    expect(maxDiff(outcome.outputs[logits].data as Float32Array, local.outputs[logits].data as Float32Array)).toBeLessThan(1e-4);
  });

  it('falls back on a worker error with its code, and on a foreign code as a transport fault', async () => {
    answer = async () => { throw new DynasplitError(ErrorCodes.MEMORY_BUDGET, 'no room', { retryable: true }); };
    const coded = context(0);
    const first = await execute(admitted(Date.now() + 30_000), entryAt(cut), coded.ctx);
    expect(first).toMatchObject({ edgeFallback: true, fallbackCode: ErrorCodes.MEMORY_BUDGET });
    expect(coded.tails).toEqual([[MODEL, cut]]);
    answer = async (request) => ({ request_id: request.request_id, error: { code: 'E_SOMETHING_ELSE', message: 'not ours' } });
    const foreign = await execute(admitted(Date.now() + 30_000), entryAt(cut), context(0).ctx);
    expect(foreign).toMatchObject({ edgeFallback: true, fallbackCode: ErrorCodes.TRANSPORT });
  });

  it('runs the head in the slot the frame was admitted in, frees it before the cloud is waited on, and counts a later wait for one as queueing', async () => {
    const limiter = new Limiter(1, Number.POSITIVE_INFINITY);
    let asked = 0;
    const slotted: ExecuteContext = { ...context(0).ctx, computeSlot: () => { asked++; return limiter.acquire(); } };
    let other: Slot | undefined;
    let activeAtWorker = -1;
    answer = async () => {
      activeAtWorker = limiter.active;
      other = await limiter.acquire(); // another frame takes the slot while this one waits for the cloud
      throw new DynasplitError(ErrorCodes.BAD_INPUT, 'refused');
    };
    const held = await limiter.acquire();
    const running = execute(admitted(Date.now() + 30_000), entryAt(cut), slotted, held);
    await vi.waitFor(() => expect(limiter.queued).toBe(1)); // the fallback's tail waits for the slot
    other!.release();
    const outcome = await running;
    expect(activeAtWorker).toBe(0);
    expect(asked).toBe(1); // for the tail only: the head ran in the held slot
    expect(outcome).toMatchObject({ edgeFallback: true, fallbackCode: ErrorCodes.BAD_INPUT });
    expect(outcome.waitMs).toBeGreaterThan(0);
    await limiter.drain();
  });

  it('gives the held slot back when the head fails', async () => {
    const limiter = new Limiter(1, Number.POSITIVE_INFINITY);
    const slotted: ExecuteContext = { ...context(0).ctx, computeSlot: () => limiter.acquire() };
    const req = admitted(Date.now() + 30_000);
    const broken = { ...req, inputs: { wrong: new ort.Tensor('float32', new Float32Array(3), [3]) } };
    await expect(execute(broken, entryAt(cut), slotted, await limiter.acquire())).rejects.toThrow();
    expect(limiter.active).toBe(0);
  });

  it('counts the wait before onnxruntime starts the head as waiting, not compute', async () => {
    // Work that holds the event loop between the run's call and the inference's start, as other
    // frames' I/O does under load.
    const BUSY_MS = 120;
    const outcome = await withBusyInferenceStart(BUSY_MS, () => execute(admitted(Date.now() + 30_000), entryAt(EDGE_ONLY_CUT), context(0).ctx));
    expect(outcome.waitMs).toBeGreaterThanOrEqual(BUSY_MS);
    expect(outcome.edgeComputeMs).toBeLessThan(BUSY_MS);
  });
});
