/**
 * The soak's hostile phase: two well-behaved sensors send frames throughout while, one after the
 * other for WINDOW_MS each, a subscriber that never reads its socket, a sensor flooding at 10x the
 * sustainable rate, a sensor whose frames carry a 1 MiB model name, and a full disk on the edge's
 * state directory hit the deployment. What each cost is the share of the well-behaved sensors'
 * frames answered with a prediction within their budget, in its window against a quiet window before.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { connectPacket, rawSocket, subscribePacket } from '../helpers/raw-mqtt.ts';
import { SoakSensor } from './sensor.ts';

/** How long each hostile client (and the quiet window before them) runs, ms. */
const WINDOW_MS = 10_000;
/** The well-behaved sensors' budget in this phase, ms: tight enough that a stall shows. */
export const HOSTILE_BUDGET_MS = 5_000;
/** Frames per second of the sensor sending a 1 MiB model name (each is 1 MiB through the broker). */
const OVERSIZED_RATE = 10;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface WindowCost { sent: number; met: number; metShare: number }
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
  url: string;
  model: string;
  shape: number[];
  sustainable: number;
  disk: SmallDisk | string;
  log(message: string): void;
  /** The phase's sensors join the soak's books (accepted == delivered covers them). */
  adopt(sensor: SoakSensor): void;
}

/** A raw connection that subscribes to everything (the soak's broker is open) and never reads. */
async function stuckSubscriber(port: number): Promise<() => void> {
  const socket = await rawSocket(port);
  socket.pause();
  socket.on('error', () => undefined);
  socket.write(Buffer.concat([connectPacket(`soak-stuck-${process.pid}`), subscribePacket('#', 1)]));
  return () => socket.destroy();
}

function cost(sensors: SoakSensor[], from: number, to: number): WindowCost {
  const all = sensors.map((s) => s.budgetsMet(from, to)).reduce((a, b) => ({ sent: a.sent + b.sent, met: a.met + b.met }), { sent: 0, met: 0 });
  return { ...all, metShare: all.sent === 0 ? 0 : Number((all.met / all.sent).toFixed(3)) };
}

/** Runs the phase; resolves once the well-behaved sensors have sent their last frame. */
export async function runHostilePhase(setup: HostileSetup): Promise<HostileReport> {
  const { url, model, shape, sustainable, disk, log } = setup;
  const calm = [await SoakSensor.connect(url, 'soak-calm-1', model, shape), await SoakSensor.connect(url, 'soak-calm-2', model, shape)];
  calm.forEach(setup.adopt);
  const rate = Math.max(2, Math.round(sustainable / 8));
  const windows = 5;
  log(`hostile phase: two well-behaved sensors at ${rate} frames/s each (budget ${HOSTILE_BUDGET_MS} ms), ${windows} windows of ${WINDOW_MS / 1000} s`);
  const calmRun = Promise.all(calm.map((s) => s.send(rate, (windows * WINDOW_MS) / 1000 + 2, HOSTILE_BUDGET_MS)));
  const marks: number[] = [Date.now()];
  const next = async (action: () => Promise<void>) => {
    await action();
    marks.push(Date.now());
  };
  await next(() => sleep(WINDOW_MS));

  await next(async () => {
    log('hostile: a subscriber to # that never reads its socket');
    const release = await stuckSubscriber(Number(new URL(url).port));
    await sleep(WINDOW_MS);
    release();
  });
  await next(async () => {
    log(`hostile: a sensor flooding at ${sustainable * 10} frames/s`);
    const flood = await SoakSensor.connect(url, 'soak-hostile-flood', model, shape);
    setup.adopt(flood);
    await flood.send(sustainable * 10, WINDOW_MS / 1000, HOSTILE_BUDGET_MS);
  });
  await next(async () => {
    log(`hostile: a sensor sending frames with a 1 MiB model name at ${OVERSIZED_RATE}/s`);
    const oversized = await SoakSensor.connect(url, 'soak-hostile-oversized', 'm'.repeat(1 << 20), shape);
    setup.adopt(oversized);
    await oversized.send(OVERSIZED_RATE, WINDOW_MS / 1000, HOSTILE_BUDGET_MS);
  });
  await next(async () => {
    if (typeof disk === 'string') return void log(`hostile: full disk ${disk}`);
    log('hostile: the edge\'s state directory full for 10 s');
    disk.fill();
    await sleep(WINDOW_MS);
    disk.free();
  });
  await calmRun;
  const window = (i: number) => cost(calm, marks[i], marks[i + 1]);
  return {
    quiet: window(0), stuckSubscriber: window(1), flood: window(2), oversizedFields: window(3),
    fullDisk: typeof disk === 'string' ? disk : window(4),
  };
}
