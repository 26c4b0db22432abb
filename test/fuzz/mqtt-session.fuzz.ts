/**
 * Whole MQTT sessions of a sensor account against a live deployment (session-deployment.ts: broker
 * with logins and ACLs, edge node, cloud worker, each its own process). Each case is one session
 * (session-arbitraries.ts) written as raw packets on a socket; after it:
 * - no process has exited (no crash);
 * - every frame the broker acknowledged (PUBACK) has been answered on the sensor's result topic,
 *   and no more answers came than frames were sent (nothing answered twice);
 * - a well-behaved sensor, sending one frame at a time all along, had every frame answered with a
 *   prediction within STALL_BOUND_MS (its budget), and none is waiting longer.
 */
import type { Socket } from 'node:net';
import fc from 'fast-check';
import { connectPacket, packet, PacketReader, publishPacket, rawSocket, remainingLength, subscribePacket, utf8 } from '../helpers/raw-mqtt.ts';
import { buildFrame, framesTopic, ofLength, session, type Session, type Step } from './session-arbitraries.ts';
import {
  CALM_BUDGET_MS, FUZZ_PASSWORD, FUZZ_SENSOR, OBSERVER_CLIENT_ID, startSessionDeployment, type SessionDeployment,
} from './session-deployment.ts';
import { check, count, type FuzzContext, type FuzzProperty } from './property.ts';

/**
 * The documented bound (docs/security.md, "Fuzzing whole sessions"): the longest the well-behaved
 * sensor may wait for an answer while the fuzzer runs (ms). Equal to its frames' budget: an answer
 * later than that would be useless to it.
 */
export const STALL_BOUND_MS = CALM_BUDGET_MS;
/** How long an acknowledged frame may take to be answered before the case fails (ms). */
const ANSWER_TIMEOUT_MS = 30_000;
/** How long a session waits for its CONNACK and for PUBACKs before it ends (ms). */
const REPLY_WAIT_MS = 5_000;
/** Cases between two checks that every acknowledged frame was answered (a run of a multiple of it ends on one). */
const SETTLE_EVERY = 25;
/** Cases between two progress lines on stderr (the long run only reaches them). */
const PROGRESS_EVERY = 5_000;

/** What the whole run saw: the long runner prints it. */
export const sessionBooks = { cases: 0, framesSent: 0, framesAcknowledged: 0, answers: 0 };

interface Live { socket: Socket; connack?: number; acked: Set<number>; closed: boolean; wake?: () => void }

async function open(port: number): Promise<Live> {
  const socket = await rawSocket(port);
  const live: Live = { socket, acked: new Set(), closed: false };
  const reader = new PacketReader();
  socket.on('data', (chunk: Buffer) => {
    for (const p of reader.push(chunk)) {
      if (p.type === 2 && p.body.length >= 2) live.connack = p.body[1];
      if (p.type === 4 && p.body.length >= 2) live.acked.add(p.body.readUInt16BE(0));
    }
    live.wake?.();
  });
  socket.on('error', () => undefined); // the broker may close on us at any point: that is an outcome, not a failure
  socket.on('close', () => {
    live.closed = true;
    live.wake?.();
  });
  return live;
}

/** Waits until `done()` or the socket closes or `ms` pass. */
function until(live: Live, done: () => boolean, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const finish = () => {
      clearTimeout(timer);
      live.wake = undefined;
      resolve();
    };
    const timer = setTimeout(finish, ms);
    live.wake = () => {
      if (done() || live.closed) finish();
    };
    live.wake();
  });
}

function loginBytes(s: Session, n: number): Buffer {
  const clientId = s.clientIdBytes === 0 ? '' : ofLength(`${FUZZ_SENSOR}-s${n}-`, Math.max(s.clientIdBytes, `${FUZZ_SENSOR}-s${n}`.length));
  const credentials = { username: FUZZ_SENSOR, password: FUZZ_PASSWORD };
  switch (s.login) {
    case 'valid': return connectPacket(clientId, credentials);
    case 'wrong-password': return connectPacket(clientId, { ...credentials, password: 'guess' });
    case 'no-credentials': return connectPacket(clientId);
    case 'foreign-client-id': return connectPacket(['fuzz-edge', 'fuzz-edge-t', 'calm-1', 'calm', OBSERVER_CLIENT_ID.replace(FUZZ_SENSOR, 'calm')][n % 5], credentials);
    case 'bad-protocol': return packet(0x10, Buffer.concat([utf8(n % 2 ? 'MQTX' : 'MQTT'), Buffer.from([n % 2 ? 4 : 9, 0xc2, 0, 0]), utf8(clientId)]));
    case 'garbage': return Buffer.from([0x10, 0x05, 0xff, 0xff, 0x00, 0x01, 0x02]);
    case 'truncated': return connectPacket(clientId, credentials).subarray(0, 7);
  }
}

/** A frame's bytes with a unique request id (field 1 last: protobuf keeps the last), so no two frames collide. */
function uniqueBody(body: Uint8Array, id: string): Buffer {
  const idBytes = Buffer.from(id);
  return Buffer.concat([body, Buffer.from([0x0a, idBytes.length]), idBytes]);
}

interface Sent { frames: number; qos1: Map<number, string> }

function stepBytes(step: Step, n: number, k: number, sent: Sent): Buffer {
  const id = (k % 65_535) + 1;
  switch (step.kind) {
    case 'frame': {
      const requestId = `f${n}.${k}`;
      const body = 'frame' in step.body
        ? buildFrame(step.body.frame, requestId, FUZZ_SENSOR, Date.now())
        : uniqueBody(step.body.bytes, requestId);
      sent.frames++;
      if (step.qos === 1) sent.qos1.set(id, requestId);
      return publishPacket(framesTopic(FUZZ_SENSOR), body, step.qos, id, step.retain);
    }
    case 'publish': return publishPacket(step.topic, step.bytes, step.qos, id);
    case 'subscribe': return subscribePacket(step.filter, step.qos);
    case 'unsubscribe': return packet(0xa2, Buffer.concat([Buffer.from([0, 2]), utf8(step.filter)]));
    case 'ping': return Buffer.from([0xc0, 0x00]);
    case 'raw': return Buffer.from(step.bytes);
    // A fixed header announcing `bytes`, and nothing after it.
    case 'announce': return Buffer.concat([Buffer.from([0x30]), remainingLength(step.bytes)]);
    case 'stop-reading': return Buffer.alloc(0);
  }
}

/** Runs one session; returns the frames sent on the frame topic and those the broker acknowledged. */
async function runSession(d: SessionDeployment, s: Session, n: number): Promise<{ sent: number; acked: string[] }> {
  const live = await open(d.port);
  live.socket.write(loginBytes(s, n));
  if (s.login === 'valid') await until(live, () => live.connack !== undefined, REPLY_WAIT_MS);
  count(`login ${s.login}: ${live.connack === undefined ? (live.closed ? 'closed' : 'no CONNACK') : `CONNACK ${live.connack}`}`);
  const sent: Sent = { frames: 0, qos1: new Map() };
  for (const [k, step] of s.steps.entries()) {
    if (live.closed) break;
    if (step.kind === 'stop-reading') live.socket.pause();
    live.socket.write(stepBytes(step, n, k, sent));
  }
  const ackedAll = () => [...sent.qos1.keys()].every((id) => live.acked.has(id));
  // After garbage or a half-announced packet the broker may be waiting for bytes that never come: no PUBACK to wait for.
  const wellFormed = s.steps.every((step) => step.kind !== 'raw' && step.kind !== 'announce');
  if (s.end === 'disconnect') {
    if (wellFormed && !live.socket.isPaused()) await until(live, ackedAll, REPLY_WAIT_MS);
    if (!live.closed) live.socket.end(Buffer.from([0xe0, 0x00]));
  } else if (s.end === 'half-packet' && !live.closed) {
    live.socket.write(publishPacket(framesTopic(FUZZ_SENSOR), new Uint8Array(64), 1, 65_535).subarray(0, 20));
  }
  live.socket.destroy();
  const acked = [...sent.qos1].filter(([id]) => live.acked.has(id)).map(([, requestId]) => requestId);
  count(`end ${s.end}${live.closed ? ' (closed by broker)' : ''}`);
  return { sent: sent.frames, acked };
}

/**
 * The checks after each case: processes alive, the well-behaved sensor within its bound; and every
 * SETTLE_EVERY cases (sessions run back to back in between, as a busy sensor's would), every frame
 * acknowledged so far answered.
 */
async function checkDeployment(d: SessionDeployment, acked: string[], settle: boolean): Promise<void> {
  for (const [name, proc] of d.processes) check(proc.proc.exitCode === null && proc.proc.signalCode === null, () => `${name} exited:\n${proc.output().slice(-3000)}`);
  checkCalm(d);
  if (!settle) return;
  const answered = await d.waitForAnswers(sessionBooks.framesAcknowledged, ANSWER_TIMEOUT_MS);
  check(answered, () => `${sessionBooks.framesAcknowledged} frames acknowledged, ${d.answers()} answered after ${ANSWER_TIMEOUT_MS} ms; ` +
    `acknowledged since the last check without an answer with their id: ${acked.filter((id) => !d.answeredIds.has(id)).join(', ') || 'none'}`);
  check(d.answers() <= sessionBooks.framesSent, () => `${d.answers()} answers to ${sessionBooks.framesSent} frames sent: some answered twice`);
  checkCalm(d);
}

function checkCalm(d: SessionDeployment): void {
  const pending = d.calm.pendingSinceMs === undefined ? 0 : performance.now() - d.calm.pendingSinceMs;
  // The slowest answer since the last check, not of the whole run: the case that fails is the one
  // the stall fell in, and a shrunk case is judged on its own answers.
  const worst = Math.max(d.calm.worstSinceCheckMs, pending);
  d.calm.worstSinceCheckMs = 0;
  check(worst <= STALL_BOUND_MS, () => `the well-behaved sensor waited ${worst.toFixed(0)} ms for an answer (bound ${STALL_BOUND_MS} ms)`);
  check(d.calm.failures.length === 0, () => `the well-behaved sensor got errors: ${d.calm.failures.slice(0, 3).join('; ')}`);
}

async function build(ctx: FuzzContext): Promise<fc.IAsyncProperty<[Session]>> {
  const d = await startSessionDeployment(ctx.zooDir, ctx.workDir);
  ctx.onClose(async () => {
    // A run stopped at a time limit may end between two settling checks: the last one is here.
    const settled = await d.waitForAnswers(sessionBooks.framesAcknowledged, ANSWER_TIMEOUT_MS);
    await d.close();
    sessionBooks.answers = d.answers();
    console.log(`mqtt-session: ${sessionBooks.cases} sessions, ${sessionBooks.framesSent} frames sent, ${sessionBooks.framesAcknowledged} acknowledged, ` +
      `${sessionBooks.answers} answers; the well-behaved sensor: ${d.calm.answered} frames answered, slowest ${d.calm.maxLatencyMs.toFixed(0)} ms ` +
      `(bound ${STALL_BOUND_MS} ms), ${d.calm.failures.length} errors`);
    if (!settled) throw new Error(`mqtt-session: ${sessionBooks.framesAcknowledged} frames acknowledged, only ${sessionBooks.answers} answered`);
  });
  /** Request ids acknowledged since the last settling check. */
  const sinceSettled: string[] = [];
  return fc.asyncProperty(session, async (s) => {
    const n = sessionBooks.cases++;
    const { sent, acked } = await runSession(d, s, n);
    sessionBooks.framesSent += sent;
    sessionBooks.framesAcknowledged += acked.length;
    if (n > 0 && n % PROGRESS_EVERY === 0) {
      process.stderr.write(`mqtt-session: ${n} cases, ${sessionBooks.framesAcknowledged} frames acknowledged, ${d.answers()} answers, ` +
        `well-behaved sensor's slowest answer ${d.calm.maxLatencyMs.toFixed(0)} ms\n`);
    }
    sinceSettled.push(...acked);
    const settle = n % SETTLE_EVERY === SETTLE_EVERY - 1;
    await checkDeployment(d, sinceSettled, settle);
    if (settle) sinceSettled.length = 0;
  });
}

export const mqttSessionProperties: FuzzProperty[] = [
  {
    name: 'session/mqtt: whole sensor sessions against a live broker, edge and cloud',
    decoder: 'mqtt-session',
    shortRuns: 300,
    // Starting three processes and 300 sessions: about a minute here, more on a busy machine.
    shortRunTimeoutMs: 600_000,
    build,
  },
];
