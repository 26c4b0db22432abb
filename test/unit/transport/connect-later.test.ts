/**
 * connectLater (transport/connect-later.ts): an edge's transport when the cloud cannot be reached at
 * start. The transports here are plain objects standing for a connected transport; what is tested
 * is when they are asked for, and what requests get meanwhile.
 */
import { describe, expect, it, vi } from 'vitest';
import { DynasplitError, ErrorCodes } from '../../../common/index.ts';
import { connectLater, type TensorTransport } from '../../../transport/index.ts';
import { captureLog } from '../../helpers/log.ts';

function connected(): TensorTransport & { closed: number } {
  const t = {
    kind: 'nats' as const,
    closed: 0,
    request: async () => ({ request_id: 'r', worker_id: 'w' }) as never,
    serve: async () => ({ close: async () => undefined }),
    close: async () => { t.closed++; },
  };
  return t;
}

/** What `promise` rejects with; one that resolves fails the test. */
const caught = (promise: Promise<unknown>): Promise<unknown> => promise.then(() => { throw new Error('expected a rejection'); }, (err: unknown) => err);
const unreachable = () => new DynasplitError(ErrorCodes.TRANSPORT, 'connection refused', { retryable: true });
const options = { kind: 'nats' as const, target: 'NATS at nats://127.0.0.1:1', retryMs: 5 };
const request = { request_id: 'r', model: 'm', cut: 'c' };

describe('connectLater', () => {
  it('is the transport itself when the first try connects, and fails the start on a failure retrying will not fix', async () => {
    const t = connected();
    const { logger } = captureLog();
    expect(await connectLater(async () => t, options, logger)).toBe(t);
    const refused = new DynasplitError(ErrorCodes.TRANSPORT, 'authorization violation', { retryable: false });
    expect(await caught(connectLater(async () => { throw refused; }, options, logger))).toBe(refused);
  });

  it('refuses requests (TRANSPORT, retryable) until a later try connects, then hands them on', async () => {
    const t = connected();
    const { lines, logger } = captureLog();
    let tries = 0;
    const transport = await connectLater(async () => {
      if (++tries < 4) throw unreachable();
      return t;
    }, options, logger);
    const refusal = await caught(transport.request(request, { timeoutMs: 100 }));
    expect(refusal).toMatchObject({ code: ErrorCodes.TRANSPORT, retryable: true });
    await vi.waitFor(() => expect(lines.map((l) => l.msg)).toContain('connected to NATS at nats://127.0.0.1:1'));
    expect(lines[0]).toMatchObject({ level: 'warn', msg: 'cannot reach NATS at nats://127.0.0.1:1: serving without the cloud (requests finish on the edge) and trying again' });
    expect(lines.find((l) => l.msg.startsWith('connected'))!.fields.tries).toBe(4);
    expect(await transport.request(request, { timeoutMs: 100 })).toMatchObject({ worker_id: 'w' });
    await transport.close();
    expect(t.closed).toBe(1);
  });

  it('stops trying when closed, and refuses requests as closed', async () => {
    const { logger } = captureLog();
    let tries = 0;
    const transport = await connectLater(async () => { tries++; throw unreachable(); }, options, logger);
    await vi.waitFor(() => expect(tries).toBeGreaterThan(1));
    await transport.close();
    const after = tries;
    expect(await caught(transport.request(request, { timeoutMs: 100 }))).toMatchObject({ code: ErrorCodes.CLOSED });
    expect(await caught(transport.serve(async () => ({})))).toMatchObject({ code: ErrorCodes.CLOSED });
    // close() resolved once the tries had ended: none is made after it.
    expect(tries).toBe(after);
  });
});
