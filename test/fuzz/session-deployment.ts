/**
 * The live deployment the MQTT-session fuzz target runs against: `dynasplit broker` with a users
 * file (logins and ACLs in force), a durable edge node and a cloud worker serving vgg16-tiny, each
 * its own process; a well-behaved sensor that keeps sending one frame at a time and times each
 * answer; and an observer logged in as the fuzzed sensor's account that counts the answers the
 * fuzzed sessions get.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashPassword } from '../../broker/index.ts';
import { connectMqtt, type MqttClient } from '../../common/index.ts';
import { Frame, Result, topics } from '../../schemas/index.ts';
import { frame, inputs } from '../helpers/pipeline.ts';
import { spawnDynasplit, type Spawned } from '../../local-servers/index.ts';
import { freePort } from '../../local-servers/index.ts';

export const MODEL = 'vgg16-tiny';
export const SHAPE = [1, 3, 32, 32];
/** The fuzzed sensor account (its id is its username). */
export const FUZZ_SENSOR = 'fuzz';
export const FUZZ_PASSWORD = 'fuzz-pw';
const CALM_SENSOR = 'calm';
const EDGE = 'fuzz-edge';
const CLOUD = 'fuzz-cloud';
/** The observer's client id: no fuzzed session may take it (it would end the observer's session). */
export const OBSERVER_CLIENT_ID = `${FUZZ_SENSOR}-observer`;
/** The budget of the well-behaved sensor's frames (ms): an answer later than this is a stall. */
export const CALM_BUDGET_MS = 5_000;
/** Pause between two of the well-behaved sensor's frames (ms): it is a paced sensor, not a flood. */
const CALM_GAP_MS = 50;

/**
 * The well-behaved sensor's books: answers, the slowest of all and the slowest since the last check
 * (which the check reads and resets, so a failing case is the one its stall fell in, and shrinking
 * replays cases against their own answers, not the run's worst), and any that was not a prediction.
 */
export interface CalmBooks { answered: number; maxLatencyMs: number; worstSinceCheckMs: number; failures: string[]; pendingSinceMs: number | undefined }

export interface SessionDeployment {
  port: number;
  processes: Map<string, Spawned>;
  calm: CalmBooks;
  /** Results the fuzzed sensor's account received on its result topic, in all. */
  answers(): number;
  /** Request ids of those results (an empty id for a frame refused before its id could be read). */
  answeredIds: Set<string>;
  /** Resolves true once `count` results have come in all, false after `timeoutMs`. */
  waitForAnswers(count: number, timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

async function writeUsers(dir: string): Promise<string> {
  // Cheap scrypt (N=1024): every fuzzed session logs in, and the test is not about password cost.
  const account = async (username: string, role: string) => ({
    username, role, passwordHash: await hashPassword(`${username}-pw`, { N: 1024, r: 8, p: 1 }),
  });
  const file = join(dir, 'users.json');
  writeFileSync(file, JSON.stringify({ users: [
    await account(FUZZ_SENSOR, 'sensor'), await account(CALM_SENSOR, 'sensor'), await account(EDGE, 'edge'), await account(CLOUD, 'cloud'),
  ] }));
  return file;
}

/** Starts the processes; `zooDir` holds vgg16-tiny.onnx, `workDir` takes the users file and the edge's state. */
export async function startSessionDeployment(zooDir: string, workDir: string): Promise<SessionDeployment> {
  const dir = join(workDir, 'mqtt-session');
  mkdirSync(dir, { recursive: true });
  const users = await writeUsers(dir);
  const port = await freePort();
  const url = (user: string) => `mqtt://${user}:${user}-pw@127.0.0.1:${port}`;
  const model = `${MODEL}=${join(zooDir, `${MODEL}.onnx`)}`;
  const processes = new Map<string, Spawned>();
  const start = async (name: string, args: string[], ready: RegExp) => {
    const proc = spawnDynasplit(args);
    processes.set(name, proc);
    await proc.waitFor(ready, 60_000);
  };
  const clients: MqttClient[] = [];
  let running = true;
  try {
    await start('broker', ['broker', '--host', '127.0.0.1', '--port', String(port), '--users', users, '--log-level', 'warn'], new RegExp(`127.0.0.1:${port}`));
    await start('cloud', ['cloud', '--id', CLOUD, '--mqtt', url(CLOUD), '--model', model, '--threads', '1', '--log-level', 'info'], /cloud worker serving/);
    await start('edge', ['edge', '--id', EDGE, '--mqtt', url(EDGE), '--model', model, '--threads', '1', '--state-dir', join(dir, 'edge-state'),
      '--log-level', 'info'], /edge node serving/);
    let answers = 0;
    let wake: (() => void) | undefined;
    const observer = await connectMqtt(url(FUZZ_SENSOR), { clientId: OBSERVER_CLIENT_ID });
    clients.push(observer);
    const answeredIds = new Set<string>();
    observer.on('message', (_topic, payload) => {
      answeredIds.add(Result.decode(payload).request_id);
      answers++;
      wake?.();
    });
    await observer.subscribeAsync(topics.results(FUZZ_SENSOR), { qos: 1 });
    const calmClient = await connectMqtt(url(CALM_SENSOR), { clientId: `${CALM_SENSOR}-1` });
    clients.push(calmClient);
    const calm: CalmBooks = { answered: 0, maxLatencyMs: 0, worstSinceCheckMs: 0, failures: [], pendingSinceMs: undefined };
    const loop = calmLoop(calmClient, calm, () => running);
    return {
      port, processes, calm,
      answers: () => answers,
      answeredIds,
      waitForAnswers: (count, timeoutMs) => new Promise((resolve) => {
        if (answers >= count) return resolve(true);
        const timer = setTimeout(() => {
          wake = undefined;
          resolve(false);
        }, timeoutMs);
        wake = () => {
          if (answers < count) return;
          clearTimeout(timer);
          wake = undefined;
          resolve(true);
        };
      }),
      close: async () => {
        running = false;
        await Promise.race([loop, delay(5_000)]);
        await Promise.race([Promise.all(clients.map((c) => c.endAsync(true))), delay(5_000)]);
        for (const proc of processes.values()) await stopWithin(proc, 10_000);
      },
    };
  } catch (err) {
    running = false;
    await Promise.all(clients.map((c) => c.endAsync(true)));
    for (const proc of processes.values()) await proc.stop('SIGKILL');
    throw err;
  }
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** SIGTERM, then SIGKILL if the process has not exited within `ms`; says so if it took that. */
async function stopWithin(proc: Spawned, ms: number): Promise<void> {
  const stopped = await Promise.race([proc.stop('SIGTERM').then(() => true), delay(ms).then(() => false)]);
  if (stopped) return;
  process.stderr.write(`${proc.proc.spawnargs.slice(2, 4).join(' ')} did not stop within ${ms} ms of SIGTERM: killed\n`);
  await proc.stop('SIGKILL');
}

/** One frame at a time, each timed from publish to answer; runs until `running()` turns false. */
async function calmLoop(client: MqttClient, books: CalmBooks, running: () => boolean): Promise<void> {
  const [x] = inputs(SHAPE, 1, 23);
  const waiting = new Map<string, (result: Result) => void>();
  client.on('message', (_topic, payload) => {
    const result = Result.decode(payload);
    waiting.get(result.request_id)?.(result);
  });
  await client.subscribeAsync(topics.results(CALM_SENSOR), { qos: 1 });
  for (let n = 0; running(); n++) {
    const id = `calm-${n}`;
    const answered = new Promise<Result>((resolve) => waiting.set(id, resolve));
    const sent = performance.now();
    books.pendingSinceMs = sent;
    const payload = Frame.encode(Frame.create(frame(id, CALM_SENSOR, MODEL, SHAPE, x, CALM_BUDGET_MS))).finish();
    await client.publishAsync(topics.frames(CALM_SENSOR), Buffer.from(payload), { qos: 1 });
    const result = await Promise.race([answered, new Promise<undefined>((resolve) => {
      const poll = setInterval(() => {
        if (running()) return;
        clearInterval(poll);
        resolve(undefined);
      }, 100);
      void answered.then(() => clearInterval(poll));
    })]);
    waiting.delete(id);
    books.pendingSinceMs = undefined;
    if (!result) return;
    books.answered++;
    const latencyMs = performance.now() - sent;
    books.maxLatencyMs = Math.max(books.maxLatencyMs, latencyMs);
    books.worstSinceCheckMs = Math.max(books.worstSinceCheckMs, latencyMs);
    if (result.error) books.failures.push(`${id}: ${result.error.code} ${result.error.message}`);
    await new Promise((resolve) => setTimeout(resolve, CALM_GAP_MS));
  }
}
