/**
 * The nats-server of the tests and benches runs as the deploy kit deploys it: with the Environment=
 * lines of deploy/nats/nats-server.service.d/dynasplit.conf (Go's collector at GOGC=400), so that
 * what they measure is what the kit gives; a variable set in the caller's environment wins.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { natsServerEnv, startNatsServer } from '../../local-servers/index.ts';

const DROP_IN = join(import.meta.dirname, '..', '..', 'deploy', 'nats', 'nats-server.service.d', 'dynasplit.conf');

/** The environment of a running process, from /proc (Linux). */
function environOf(pid: number): string[] {
  return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
}

const saved = process.env.GOGC;
afterEach(() => {
  if (saved === undefined) delete process.env.GOGC;
  else process.env.GOGC = saved;
});

describe('nats-server as the deploy kit runs it', () => {
  it('reads every Environment= line of the kit\'s systemd drop-in, under its [Service] section', () => {
    delete process.env.GOGC;
    const kit = readFileSync(DROP_IN, 'utf8');
    expect(kit).toMatch(/^\[Service\]$/m);
    const lines = kit.split('\n').filter((l) => l.startsWith('Environment='));
    expect(lines.length).toBeGreaterThan(0);
    expect(Object.entries(natsServerEnv()).map(([k, v]) => `Environment=${k}=${v}`)).toEqual(lines);
    expect(natsServerEnv().GOGC).toBe('400');
  });

  it('starts nats-server with that environment', async () => {
    delete process.env.GOGC;
    const server = await startNatsServer();
    onTestFinished(() => server.stop());
    expect(environOf(server.pid)).toContain('GOGC=400');
  });

  it('lets a variable of the caller\'s environment win', async () => {
    process.env.GOGC = '100';
    expect(natsServerEnv().GOGC).toBe('100');
    const server = await startNatsServer();
    onTestFinished(() => server.stop());
    expect(environOf(server.pid)).toContain('GOGC=100');
    expect(environOf(server.pid)).not.toContain('GOGC=400');
  });
});
