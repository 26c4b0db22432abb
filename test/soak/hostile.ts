/**
 * The soak's hostile phase: two well-behaved sensors send frames throughout while, one after the
 * other for a window each (10 s by default), a subscriber that never reads its socket, a sensor
 * flooding at 10x the sustainable rate, sensors whose frames carry oversized fields (a 1 MiB model
 * name, over the broker's packet bound for sensors; a 1 KiB one, under it and over the edge's field
 * limit), and a full disk on the edge's state directory hit the deployment. After each window the
 * phase waits until its backlog has drained (every frame sent in it, the hostile client's included,
 * acknowledged and answered) before the next starts, so each window's cost is its own. What each
 * cost is the share of the well-behaved sensors' frames answered with a prediction within their
 * budget, in its window against a quiet window before; frames sent while a backlog drained are
 * counted apart.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MQTT_PREFIX } from '../../schemas/index.ts';
import { connectPacket, rawSocket, subscribePacket } from '../helpers/raw-mqtt.ts';
import { SoakSensor } from './sensor.ts';

/** How long each hostile client (and the quiet window before them) runs by default, ms. */
export const DEFAULT_WINDOW_MS = 10_000;
/** The longest the phase waits for a window's backlog to drain, ms; past it the next window starts anyway, and the report says so. */
const DRAIN_TIMEOUT_MS = 180_000;
/** The well-behaved sensors' budget in this phase, ms: tight enough that a stall shows. */
export const HOSTILE_BUDGET_MS = 5_000;
/** Frames per second of each sensor sending oversized fields. */
const OVERSIZED_RATE = 10;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Frames of the well-behaved sensors sent in a span, and how many were answered with a prediction within budget. */
export interface Share { sent: number; met: number; metShare: number }

export interface WindowCost extends Share {
  /** after the window: how long its backlog took to drain (s; `drained` false if it did not within 180 s), and the frames sent meanwhile */
  drain: Share & { seconds: number; drained: boolean };
  /** what the hostile clients themselves got, per client */
  hostile?: Record<string, Record<string, number>>;
}
export type HostileReport = Record<'quiet' | 'stuckSubscriber' | 'flood' | 'oversizedFields' | 'fullDisk', WindowCost | string>;

/** A tmpfs under the edge's state directory, so the soak can fill it (root only). */
export class SmallDisk {
  private constructor(readonly dir: string) {}

  /** Mounts a `sizeMb` tmpfs at `dir`, or returns why it cannot (not root). */
  static mount(dir: string, sizeMb: number): SmallDisk | string {
    mkdirSync(dir, { recursive: true });
    if (process.getuid?.() !== 0) return 'skipped: mounting a tmpfs needs root';
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir], { stdio: 'pipe' });
    } catch (err) {
      return `skipped: mount -t tmpfs failed (${(err as Error).message.split('\n')[0]})`;
    }
    return new SmallDisk(dir);
  }

  /** Writes a filler file until the disk has no room left: MiB chunks, then pages for the rest. */
  fill(): void {
    for (const size of [1024 * 1024, 4096]) {
      const chunk = Buffer.alloc(size, 1);
      for (;;) {
        try {
          appendFileSync(join(this.dir, 'filler'), chunk);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw err;
        }
      }
    }
  }

  free(): void {
    rmSync(join(this.dir, 'filler'), { force: true });
  }

  unmount(): void {
    execFileSync('umount', [this.dir]);
  }
}

export interface HostileSetup {
  /** the broker's URL with `account`'s login (every account's password is the same in the soak) */
  urlFor(account: string): string;
  /** the broker's port, and the login of the edge account the stuck subscriber uses */
  port: number;
  stuck: { username: string; password: string };
  model: string;
  shape: number[];
  sustainable: number;
  disk: SmallDisk | string;
  /** ms each window runs; default DEFAULT_WINDOW_MS */
  windowMs?: number;
  log(message: string): void;
  /** The phase's sensors join the soak's books (accepted == delivered covers them). */
  adopt(sensor: SoakSensor): void;
}

/**
 * A raw connection on an edge account (a frozen edge node) that subscribes to every sensor's frames
 * and never reads.
 */
async function stuckSubscriber(port: number, login: { username: string; password: string }): Promise<() => void> {
  const socket = await rawSocket(port);
  socket.pause();
  socket.on('error', () => undefined);
  socket.write(Buffer.concat([connectPacket(login.username, login), subscribePacket(`${MQTT_PREFIX}/frames/+`, 1)]));
  return () => socket.destroy();
}

function share(sensors: SoakSensor[], from: number, to: number): Share {
  const all = sensors.map((s) => s.budgetsMet(from, to)).reduce((a, b) => ({ sent: a.sent + b.sent, met: a.met + b.met }), { sent: 0, met: 0 });
  return { ...all, metShare: all.sent === 0 ? 0 : Number((all.met / all.sent).toFixed(3)) };
}

/** What a hostile sensor got: frames sent, accepted by the broker, answered, and its disconnects. */
function own(sensor: SoakSensor): Record<string, number> {
  const books = sensor.books();
  return { sent: sensor.sent, accepted: books.accepted, answered: books.delivered, disconnects: sensor.disconnects,
    ...Object.fromEntries(Object.entries(books.errorsByCode).map(([code, n]) => [code.replace('DYNASPLIT_ERR_', ''), n])) };
}

/** What a window leaves behind: when its backlog is drained, what to do then, what its hostile clients got. */
interface Aftermath {
  drained(): boolean;
  hostile?(): Record<string, Record<string, number>>;
}

async function until(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

/** Runs the phase; resolves once every window has drained and the well-behaved sensors have stopped. */
export async function runHostilePhase(setup: HostileSetup): Promise<HostileReport> {
  const { urlFor, model, shape, sustainable, disk, log } = setup;
  const windowMs = setup.windowMs ?? DEFAULT_WINDOW_MS;
  const connect = async (id: string, modelName = model, adopt = true) => {
    const sensor = await SoakSensor.connect(urlFor(id), id, modelName, shape);
    if (adopt) setup.adopt(sensor);
    return sensor;
  };
  const calm = [await connect('soak-calm-1'), await connect('soak-calm-2')];
  const rate = Math.max(2, Math.round(sustainable / 8));
  log(`hostile phase: two well-behaved sensors at ${rate} frames/s each (budget ${HOSTILE_BUDGET_MS} ms), 5 windows of ${windowMs / 1000} s, each drained before the next`);
  let running = true;
  const calmRun = Promise.all(calm.map((s) => s.sendWhile(rate, () => running, HOSTILE_BUDGET_MS)));

  const windows: [keyof HostileReport, () => Promise<Aftermath | string>][] = [
    ['quiet', async () => {
      await sleep(windowMs);
      return { drained: () => true };
    }],
    ['stuckSubscriber', async () => {
      log('hostile: an edge account subscribed to every frame that never reads its socket');
      const release = await stuckSubscriber(setup.port, setup.stuck);
      await sleep(windowMs);
      release();
      return { drained: () => true };
    }],
    ['flood', async () => {
      log(`hostile: a sensor flooding at ${sustainable * 10} frames/s`);
      const flood = await connect('soak-hostile-flood');
      await flood.send(sustainable * 10, windowMs / 1000, HOSTILE_BUDGET_MS);
      return { drained: () => flood.unacknowledged() + flood.unanswered() === 0, hostile: () => ({ flood: own(flood) }) };
    }],
    ['oversizedFields', async () => {
      log(`hostile: two sensors at ${OVERSIZED_RATE} frames/s each, one with a 1 MiB model name (over the broker's bound), one with 1 KiB (over the edge's)`);
      // Not in the books: the broker takes none of its frames, and its client keeps re-sending them.
      const huge = await connect('soak-hostile-oversized', 'm'.repeat(1 << 20), false);
      const long = await connect('soak-hostile-fields', 'm'.repeat(1024));
      await Promise.all([huge.send(OVERSIZED_RATE, windowMs / 1000, HOSTILE_BUDGET_MS), long.send(OVERSIZED_RATE, windowMs / 1000, HOSTILE_BUDGET_MS)]);
      const hugeGot = own(huge);
      await huge.close(urlFor(huge.sensorId), true);
      return { drained: () => long.unacknowledged() + long.unanswered() === 0, hostile: () => ({ modelName1MiB: hugeGot, modelName1KiB: own(long) }) };
    }],
    ['fullDisk', async () => {
      if (typeof disk === 'string') return disk;
      log(`hostile: the edge's state directory full for ${windowMs / 1000} s`);
      disk.fill();
      await sleep(windowMs);
      disk.free();
      return { drained: () => true };
    }],
  ];

  const spans: { name: keyof HostileReport; from: number; to: number; end: number; drained: boolean; after: Aftermath }[] = [];
  const report: Partial<HostileReport> = {};
  for (const [name, action] of windows) {
    const from = Date.now();
    const after = await action();
    const to = Date.now();
    if (typeof after === 'string') {
      log(`hostile: ${name} ${after}`);
      report[name] = after;
      continue;
    }
    let said = Date.now();
    const drained = await until(() => {
      const done = after.drained() && calm.every((s) => s.settled(to));
      if (!done && Date.now() - said > 10_000) {
        said = Date.now();
        log(`hostile: ${name} draining: ${JSON.stringify(calm.map((s) => ({ sensor: s.sensorId, unacknowledged: s.unacknowledged(), unanswered: s.unanswered() })))}`);
      }
      return done;
    }, DRAIN_TIMEOUT_MS);
    const end = Date.now();
    log(`hostile: ${name} ${drained ? 'drained' : 'NOT drained'} ${((end - to) / 1000).toFixed(1)} s after its window`);
    spans.push({ name, from, to, end, drained, after });
  }
  running = false;
  await calmRun;
  // The frames sent during the last drain get their answers before anything is counted.
  const stopped = Date.now();
  await until(() => calm.every((s) => s.settled(stopped)), DRAIN_TIMEOUT_MS);
  for (const { name, from, to, end, drained, after } of spans) {
    report[name] = { ...share(calm, from, to), drain: { seconds: Number(((end - to) / 1000).toFixed(1)), drained, ...share(calm, to, end) },
      ...(after.hostile ? { hostile: after.hostile() } : {}) };
  }
  return report as HostileReport;
}
