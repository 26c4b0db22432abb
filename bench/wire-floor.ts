/**
 * The wire's own cost on this machine, for the pipeline bench's "overhead near the wire's limit":
 * what moving a request's bytes between Node processes over loopback TCP costs when no process does
 * anything else with them. A child process (`echo-floor` below) answers each message of N bytes with
 * 64 bytes, as a relay's far side would; one message in flight at a time, Nagle off.
 *
 * A split request crosses two relays (sensor -> broker -> edge, edge -> nats-server -> worker) and
 * comes back: four such exchanges, two carrying the frame and two the cut tensor, each answered by a
 * small message. The floor of a request is therefore 2 x (exchange(frame bytes) + exchange(tensor
 * bytes)): what the split would cost at least through two brokers written as plainly as possible.
 *
 * A request to a large model leaves every process on its way idle for as long as its head or tail
 * computes (VGG16: ~150 ms), and waking an idle process costs time of its own (on the AMD EPYC KVM
 * guest of docs/performance.md, a 4 KB exchange took 0.04 ms back to back and 0.36 ms after 150 ms
 * idle). `gapMs` measures the exchanges each after such a pause, the floor of a request that has one.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createConnection, createServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { percentile } from '../common/index.ts';
import { NODE_FLAGS } from '../local-servers/index.ts';

/** Size of the answer to every message. */
const ANSWER_BYTES = 64;
/** Every message starts with its length (4 bytes, big-endian), so the far side knows where it ends. */
const LENGTH_BYTES = 4;
/** Exchanges of each size before the timed ones. */
const WARM_UP = 100;
/** Timed exchanges after an idle pause each (they take the pause's time each). */
const IDLE_EXCHANGES = 30;

export interface WireFloor {
  /** p50 of one exchange (N bytes there, 64 back) per payload size, ms; each after `gapMs` idle when given. */
  exchangeP50Ms(bytes: number, gapMs?: number): Promise<number>;
  close(): Promise<void>;
}

export async function startWireFloor(): Promise<WireFloor> {
  const child = fork(import.meta.filename, ['echo-floor'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: [...NODE_FLAGS, '--import', 'tsx'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m) => resolve(Number(m)));
    child.once('exit', (code) => reject(new Error(`wire floor echo process exited (${code}) before listening`)));
  });
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = createConnection({ port, host: '127.0.0.1', noDelay: true }, () => resolve(s));
    s.once('error', reject);
  });
  return {
    exchangeP50Ms: (bytes, gapMs = 0) => exchanges(socket, bytes, gapMs),
    close: async () => { socket.destroy(); await stop(child); },
  };
}

/** p50 of exchanges of `bytes` bytes after a warm-up, each timed one after `gapMs` idle (0: back to back). */
async function exchanges(socket: Socket, bytes: number, gapMs: number): Promise<number> {
  const count = gapMs > 0 ? IDLE_EXCHANGES : bytes > 100_000 ? 200 : 1000;
  const message = Buffer.alloc(LENGTH_BYTES + bytes, 7);
  message.writeUInt32BE(bytes, 0);
  const times: number[] = [];
  for (let i = 0; i < count + WARM_UP; i++) {
    if (gapMs > 0 && i >= WARM_UP) await sleep(gapMs);
    const start = performance.now();
    await new Promise<void>((resolve) => {
      let got = 0;
      const onData = (chunk: Buffer) => {
        got += chunk.length;
        if (got < ANSWER_BYTES) return;
        socket.off('data', onData);
        resolve();
      };
      socket.on('data', onData);
      socket.write(message);
    });
    if (i >= WARM_UP) times.push(performance.now() - start);
  }
  return percentile(times, 0.5);
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** The far side: reads length-prefixed messages, answers each with ANSWER_BYTES. */
function echoFloor(): void {
  const answer = Buffer.alloc(ANSWER_BYTES, 1);
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    let need = -1;
    let have = 0;
    let header = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      let at = 0;
      while (at < chunk.length) {
        if (need < 0) {
          const take = Math.min(LENGTH_BYTES - header.length, chunk.length - at);
          header = Buffer.concat([header, chunk.subarray(at, at + take)]);
          at += take;
          if (header.length < LENGTH_BYTES) return;
          need = header.readUInt32BE(0);
          header = Buffer.alloc(0);
          have = 0;
        }
        const take = Math.min(need - have, chunk.length - at);
        have += take;
        at += take;
        if (have === need) {
          socket.write(answer);
          need = -1;
        }
      }
    });
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.send!(typeof address === 'object' && address ? address.port : 0);
  });
  process.once('SIGTERM', () => { server.close(); process.exit(0); });
}

if (process.argv[2] === 'echo-floor') echoFloor();
