/**
 * The far side of bench/messaging.ts, run as its own OS process (`node --import tsx`), as an edge
 * node or a cloud worker is in a deployment. Prints `ready` once subscribed, then answers until
 * SIGTERM. `root` is the checkout whose transport/ and common/ code it loads, so that two versions
 * of that code can be measured side by side in one run.
 *
 *   mqtt-echo URL ROOT   QoS 1 `$share/bench/bench/v1/frames/+` -> QoS 1 `bench/v1/results/<id>`, a
 *                        64-byte answer carrying the frame's first 8 bytes (what an edge does with a
 *                        frame and its result, minus the work)
 *   nats-raw URL         nats.js queue subscription on `bench.v1.raw`, a 64-byte answer
 *   nats-ours URL ROOT   the NATS TensorTransport's serve(), answering a 10-float output
 *   mqtt-ours URL ROOT   the MQTT TensorTransport's serve(), answering a 10-float output
 *   aedes PORT           aedes 1.x with its defaults and no hooks (TCP, TCP_NODELAY), to tell the
 *                        dynasplit broker's own cost from aedes'; mqtt-echo subscribes without
 *                        `$share/` to it (ROOT `plain`)
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [mode, url, root = join(import.meta.dirname, '..')] = process.argv.slice(2);
const load = async <T>(file: string): Promise<T> => (await import(pathToFileURL(join(root, file)).href)) as T;

type Closer = () => Promise<void>;

async function mqttEcho(): Promise<Closer> {
  const { connectMqtt } = root === 'plain'
    ? await import('../common/index.ts')
    : await load<typeof import('../common/index.ts')>('common/index.ts');
  const client = await connectMqtt(url, { clientId: `bench-echo-${process.pid}` });
  const answer = Buffer.alloc(64);
  client.on('message', (topic, payload) => {
    const id = topic.slice(topic.lastIndexOf('/') + 1);
    const reply = Buffer.from(answer);
    payload.copy(reply, 0, 0, 8);
    client.publish(`bench/v1/results/${id}`, reply, { qos: 1 });
  });
  await client.subscribeAsync(`${root === 'plain' ? '' : '$share/bench/'}bench/v1/frames/+`, { qos: 1 });
  return async () => { await client.endAsync(); };
}

async function natsRaw(): Promise<Closer> {
  const { connect } = await import('@nats-io/transport-node');
  const nc = await connect({ servers: url });
  const answer = new Uint8Array(64);
  nc.subscribe('bench.v1.raw', { queue: 'bench', callback: (_err, msg) => { msg.respond(answer); } });
  await nc.flush();
  return async () => { await nc.drain(); };
}

async function transportServe(kind: 'nats' | 'mqtt'): Promise<Closer> {
  const t = await load<typeof import('../transport/index.ts')>('transport/index.ts');
  const transport = kind === 'nats'
    ? await t.createNatsTransport({ servers: url })
    : await t.createMqttTransport({ url });
  const output = { name: 'logits', shape: [1, 10], codec: 1, data: new Uint8Array(40) };
  await transport.serve(async (request) => ({ request_id: request.request_id, output }), { models: ['bench'], workerId: 'bench-worker' });
  return () => transport.close();
}

async function plainAedes(): Promise<Closer> {
  const { Aedes } = await import('aedes');
  const { createServer } = await import('node:net');
  const broker = await Aedes.createBroker();
  const server = createServer((socket) => { socket.setNoDelay(true); broker.handle(socket); });
  await new Promise<void>((resolve) => server.listen(Number(url), '127.0.0.1', resolve));
  return () => new Promise<void>((resolve) => { server.close(); broker.close(() => resolve()); });
}

const closers: Record<string, () => Promise<Closer>> = {
  'aedes': plainAedes,
  'mqtt-echo': mqttEcho,
  'nats-raw': natsRaw,
  'nats-ours': () => transportServe('nats'),
  'mqtt-ours': () => transportServe('mqtt'),
};
const start = closers[mode];
if (!start || !url) {
  process.stderr.write(`usage: messaging-peer.ts ${Object.keys(closers).join('|')} URL [ROOT]\n`);
  process.exit(2);
}
const close = await start();
process.stdout.write('ready\n');
process.once('SIGTERM', () => { void close().finally(() => process.exit(0)); });
