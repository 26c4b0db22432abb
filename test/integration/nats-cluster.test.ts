/**
 * A 3-node NATS cluster loses a node (SIGKILL) mid-stream: every request gets exactly one result (a
 * cloud result, an edge fallback or a coded error), the workers attached to the surviving nodes
 * carry on, and the dead node's clients move to a survivor and serve again. Worker i is given only
 * node i's URL, so it is attached there (the others it learns from the servers' INFO); the edge
 * gets all three. nats-server 2.9 hands a queue-group request to a member on any node, not only the
 * publisher's, so requests are in flight to the dead node's worker in both cases: when the edge's
 * node survives, and when the edge's own node is the one that dies.
 */
import { join } from 'node:path';
import { beforeAll, afterAll, describe, expect, inject, it, onTestFinished, vi, type TestContext } from 'vitest';
import { startBroker, type BrokerHandle } from '../../broker/index.ts';
import { startCloudWorker, type CloudWorker } from '../../cloud-worker/index.ts';
import { ErrorCodes, isErrorCode } from '../../common/index.ts';
import { startEdgeNode, type EdgeNode } from '../../edge-node/index.ts';
import type { Result } from '../../schemas/index.ts';
import { createNatsTransport, type TensorTransport } from '../../transport/index.ts';
import { frame, inputs, resultSink, type ResultSink } from '../helpers/pipeline.ts';
import { startNatsCluster, type NatsCluster } from '../../local-servers/index.ts';

const zoo = inject('zooDir');
const MODEL = 'vgg16-tiny';
const SHAPE = [1, 3, 32, 32];
const models = () => ({ [MODEL]: join(zoo, `${MODEL}.onnx`) });
/** Frames per run, sent at RATE frames/s; the node dies once KILL_AFTER have been sent. */
const FRAMES = 150;
const RATE = 40;
const KILL_AFTER = 50;
/** ms; also the most a request lost with the dead node waits before the edge completes it itself. */
const BUDGET_MS = 4_000;
let broker: BrokerHandle;

beforeAll(async () => {
  broker = await startBroker({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await broker?.close();
});

interface Fleet {
  cluster: NatsCluster;
  /** workers[i] is attached to node i. */
  workers: CloudWorker[];
  edge: EdgeNode;
  /** The node the edge is attached to. */
  edgeNode: number;
  sink: ResultSink;
  /** Kills node `i` the moment its worker takes its next request; resolves with that request's id. */
  killDuringRequest(i: number): Promise<string>;
}

/**
 * The cluster, one worker on each node, an edge given every node, a result sink; torn down after the
 * test. Each worker's transport is opened here as the worker would open it (node i's URL, named after
 * the worker) and handed to it, so that a node can be killed while a request is in its worker's hands.
 */
async function startFleet(name: string, sensorId: string): Promise<Fleet> {
  // Teardowns run in reverse order: the sink, the edge, each worker before its transport, the cluster.
  const cluster = await startNatsCluster({ size: 3 });
  onTestFinished(() => cluster.stop());
  let trap: { node: number; spring(requestId: string): void } | undefined;
  const workers: CloudWorker[] = [];
  for (const [i, url] of cluster.urls.entries()) {
    const workerId = `${name}-w${i}`;
    const transport = await createNatsTransport({ servers: [url], name: workerId });
    onTestFinished(() => transport.close());
    const trapped: TensorTransport = {
      kind: transport.kind,
      request: (request, options) => transport.request(request, options),
      serve: (handler, options) => transport.serve((request) => {
        if (trap?.node === i) trap.spring(request.request_id);
        return handler(request);
      }, options),
      close: () => transport.close(),
    };
    const worker = await startCloudWorker({ workerId, transport: 'nats', models: models(), threads: 1 }, { transport: trapped });
    onTestFinished(() => worker.close());
    workers.push(worker);
  }
  const edge = await startEdgeNode({
    edgeId: `${name}-edge`, mqttUrl: broker.url, transport: 'nats', natsUrl: cluster.urls.join(','), models: models(), threads: 1,
  });
  onTestFinished(() => edge.close());
  const sink = await resultSink(broker.url, [sensorId]);
  onTestFinished(() => sink.close());
  for (const [i, w] of workers.entries()) expect(await cluster.clientNames(i)).toContain(w.workerId);
  const edgeNode = await attachedTo(cluster, edge.edgeId, [0, 1, 2]);
  const killDuringRequest = (node: number) => new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the worker on node ${node} took no request in 10 s`)), 10_000);
    trap = {
      node,
      spring: (requestId) => {
        trap = undefined;
        clearTimeout(timer);
        cluster.kill(node);
        resolve(requestId);
      },
    };
  });
  return { cluster, workers, edge, edgeNode, sink, killDuringRequest };
}

/** The node (among `nodes`) whose /connz lists the client `name`; waits while it is reconnecting. */
async function attachedTo(cluster: NatsCluster, name: string, nodes: number[], timeoutMs = 15_000): Promise<number> {
  return vi.waitFor(async () => {
    for (const i of nodes) if ((await cluster.clientNames(i)).includes(name)) return i;
    throw new Error(`${name} is attached to none of nodes ${nodes.join(', ')}`);
  }, { timeout: timeoutMs, interval: 20 });
}

interface Run {
  ids: string[];
  /** Frames sent before the kill; those from this index on were sent after it. */
  killedAtFrame: number;
  /** The request the dead node's worker held when its node died. */
  inHand: string;
  /** Requests sent but not yet answered at the kill. */
  openAtKill: string[];
  /** ms from the kill until each client of the dead node showed up on a survivor, and where. */
  moved: Record<string, { node: number; ms: number }>;
  /** A frame sent once every other one was answered; its answer closes the run. */
  marker: string;
}

/**
 * Streams FRAMES cloud-only frames at RATE/s; once KILL_AFTER are out, node `dead` dies as its
 * worker takes a request. Then waits for every answer, and a while longer for any second one.
 */
async function streamAndKill(fleet: Fleet, sensorId: string, dead: number): Promise<Run> {
  const { cluster, workers, sink } = fleet;
  const data = inputs(SHAPE, FRAMES, 23);
  const ids = data.map((_, i) => `${sensorId}-${i}`);
  let sent = 0;
  let killPoint!: () => void;
  const killReached = new Promise<void>((resolve) => { killPoint = resolve; });
  const started = Date.now();
  const sending = (async () => {
    for (const [i, x] of data.entries()) {
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + (i * 1_000) / RATE - Date.now())));
      // Cloud-only (cut 'input'), so every request goes over NATS to a worker.
      await sink.publishFrame(sensorId, { ...frame(ids[i]!, sensorId, MODEL, SHAPE, x, BUDGET_MS), configuration: { cut: 'input', codec: 'fp32' } });
      if (++sent === KILL_AFTER) killPoint();
    }
  })();
  await killReached;
  const inHand = await fleet.killDuringRequest(dead);
  const killedAt = Date.now();
  const killedAtFrame = Math.max(sent, ids.indexOf(inHand) + 1); // its frame may be in the edge's hands before its PUBACK
  const openAtKill = ids.slice(0, sent).filter((id) => !sink.byId.has(id));
  const survivors = [0, 1, 2].filter((i) => i !== dead);
  const clients = [workers[dead]!.workerId, ...(fleet.edgeNode === dead ? [fleet.edge.edgeId] : [])];
  const moved: Run['moved'] = {};
  await Promise.all(clients.map(async (name) => {
    const node = await attachedTo(cluster, name, survivors);
    moved[name] = { node, ms: Date.now() - killedAt };
  }));
  await sending;
  await sink.waitFor(FRAMES, 30_000).catch(() => undefined); // checkRun reports what is missing
  // A last cloud-only frame, answered after all of them: a second answer to any of them, had the edge
  // sent one before this, is in by now (one MQTT client's messages on a topic arrive in order).
  const marker = `${sensorId}-marker`;
  await sink.publishFrame(sensorId, { ...frame(marker, sensorId, MODEL, SHAPE, data[0]!, BUDGET_MS), configuration: { cut: 'input', codec: 'fp32' } });
  await vi.waitFor(() => expect(sink.byId.has(marker)).toBe(true), { timeout: 30_000, interval: 10 });
  return { ids, killedAtFrame, inHand, openAtKill, moved, marker };
}

type Kind = 'cloud' | 'fallback' | 'error' | 'none';

/** How a request was answered: by a worker, on the edge after the cloud failed it, with a coded error, or not at all. */
function kindOf(results: Result[] | undefined): Kind {
  const r = results?.[0];
  if (!r) return 'none';
  if (r.error?.code) return 'error';
  return r.edge_fallback ? 'fallback' : 'cloud';
}

/**
 * The checks both cases share: exactly one result per request, each a cloud result, an edge fallback
 * or a coded error; after the kill every worker serves (those on the survivors, and the dead node's
 * from where it moved). The figures go into the report first, so that a failure comes with them.
 */
async function checkRun(annotate: TestContext['annotate'], fleet: Fleet, run: Run): Promise<void> {
  const { sink, workers, edge } = fleet;
  const counts = { before: { cloud: 0, fallback: 0, error: 0, none: 0 }, after: { cloud: 0, fallback: 0, error: 0, none: 0 } };
  const servedAfter = new Set<string>();
  for (const [i, id] of run.ids.entries()) {
    const kind = kindOf(sink.byId.get(id));
    counts[i < run.killedAtFrame ? 'before' : 'after'][kind]++;
    if (kind === 'cloud' && i >= run.killedAtFrame) servedAfter.add(sink.byId.get(id)![0]!.worker_id);
  }
  await annotate([
    `killed after frame ${run.killedAtFrame} holding ${run.inHand}, answered: ${kindOf(sink.byId.get(run.inHand))}`,
    `moved: ${Object.entries(run.moved).map(([name, m]) => `${name} -> node ${m.node} in ${m.ms} ms`).join(', ')}`,
    `before: ${JSON.stringify(counts.before)}, after: ${JSON.stringify(counts.after)}`,
    `open at the kill: ${run.openAtKill.map((id) => kindOf(sink.byId.get(id))).join(', ') || 'none'}`,
    `fallback causes: ${JSON.stringify(edge.stats().fallbackCauses)}, errors: ${JSON.stringify(edge.stats().errors)}`,
  ].join('; '));
  const answers = sink.all.filter((r) => r.request_id !== run.marker);
  expect(answers).toHaveLength(FRAMES);
  // Among them the request the dead node's worker held when the node died.
  for (const id of run.ids) expect(sink.byId.get(id), id).toHaveLength(1);
  for (const r of answers) {
    if (r.error?.code) expect(isErrorCode(r.error.code), r.error.code).toBe(true);
    else if (!r.edge_fallback) expect(workers.map((w) => w.workerId)).toContain(r.worker_id);
  }
  expect([...servedAfter].sort()).toEqual(workers.map((w) => w.workerId).sort());
}

describe('a 3-node NATS cluster loses a node mid-stream', () => {
  it("a worker's node (not the edge's): every request answered exactly once, workers on the survivors carry on", async ({ annotate }) => {
    const fleet = await startFleet('ncl-a', 's-ncl-a');
    const dead = (fleet.edgeNode + 1) % 3;
    const run = await streamAndKill(fleet, 's-ncl-a', dead);
    await checkRun(annotate, fleet, run);
    await fleet.cluster.restart(dead); // back on its ports; restart() waits until it has its routes again
  }, 60_000);

  it("the edge's own node: the edge moves to a survivor, every request answered exactly once", async ({ annotate }) => {
    const fleet = await startFleet('ncl-b', 's-ncl-b');
    const dead = fleet.edgeNode;
    const run = await streamAndKill(fleet, 's-ncl-b', dead);
    expect(Object.keys(run.moved)).toContain(fleet.edge.edgeId); // found on a survivor
    await checkRun(annotate, fleet, run);
    // Nothing waited for its timeout: requests in flight on the lost connection, and those made while
    // it was reconnecting, failed at once (TRANSPORT) and were completed on the edge.
    expect(fleet.edge.stats().fallbackCauses).not.toHaveProperty(ErrorCodes.TIMEOUT);
  }, 60_000);
});
