/**
 * A NATS connect that times out against a port that accepts and never speaks NATS closes its socket
 * (transport/nats-internals.ts): nats.js 3.4 left it open for ever, one more per retry, and kept the
 * process from exiting.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ErrorCodes } from '../../../common/index.ts';
import { closeIgnoresUnconnected } from '../../../transport/nats-internals.ts';
import { createNatsTransport } from '../../../transport/nats-transport.ts';

let silent: Server;
let port = 0;
const open = new Set<Socket>();
let accepted = 0;

beforeAll(async () => {
  silent = createServer((socket) => {
    accepted++;
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  port = (silent.address() as { port: number }).port;
});

afterAll(async () => {
  for (const socket of open) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
});

describe('a NATS connect to a port that never speaks NATS', () => {
  it('is this nats.js version the one the fix was written for (its close ignores an unconnected transport)', () => {
    expect(closeIgnoresUnconnected()).toBe(true);
  });

  it('fails with TRANSPORT and leaves no socket open, try after try', async () => {
    for (let tries = 1; tries <= 3; tries++) {
      await expect(createNatsTransport({ servers: `nats://127.0.0.1:${port}`, connectTimeoutMs: 200 }))
        .rejects.toMatchObject({ code: ErrorCodes.TRANSPORT });
      expect(accepted).toBe(tries);
      await vi.waitFor(() => expect(open.size).toBe(0), { timeout: 5_000, interval: 10 });
    }
  });
});
