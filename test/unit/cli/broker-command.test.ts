import { spawn } from 'node:child_process';
import mqtt from 'mqtt';
import { describe, expect, it, vi } from 'vitest';
import { brokerCommand, brokerOptionsFrom, serveBroker } from '../../../cli/broker-command.ts';
import { commandHelp, parseCommandArgs, type Io } from '../../../cli/command.ts';
import { isDynasplitError } from '../../../common/index.ts';

function memoryIo(): Io & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return { stdout: (t) => { out += t; }, stderr: (t) => { err += t; }, isTTY: false, out: () => out, err: () => err };
}

const args = (...argv: string[]) => parseCommandArgs(brokerCommand, argv);

describe('dynasplit broker', () => {
  it('starts, prints its URLs, serves clients and closes with exit code 0 when stopped', async () => {
    const io = memoryIo();
    let stop: (reason: string) => void = () => {};
    const exit = serveBroker(args('--host', '127.0.0.1', '--port', '0', '--ws-port', '0', '--log-level', 'info'), io, {},
      new Promise((resolve) => { stop = resolve; }));
    await vi.waitFor(() => expect(io.out().split('\n').length, 'the URLs').toBeGreaterThanOrEqual(3), { timeout: 20_000, interval: 10 });
    const [url, wsUrl] = io.out().trim().split('\n');
    expect(url).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
    expect(wsUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/mqtt$/);

    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
    const gone = new Promise<void>((resolve) => client.once('close', () => resolve()));
    stop('test');
    expect(await exit).toBe(0);
    await gone;
    expect(io.err()).toContain('"msg":"broker closed"');
  });

  it('falls back to DYNASPLIT_BROKER_* variables, flags first', () => {
    const env = { DYNASPLIT_BROKER_HOST: '127.0.0.2', DYNASPLIT_BROKER_PORT: '1999', DYNASPLIT_BROKER_WS_PORT: '0', DYNASPLIT_BROKER_MAX_PACKET_MB: '16' };
    expect(brokerOptionsFrom(args(), env)).toEqual({ host: '127.0.0.2', port: 1999, wsPort: 0, maxPacketBytes: 16 * 1024 * 1024 });
    expect(brokerOptionsFrom(args('--port', '2000', '--max-packet-mb', '1'), env)).toMatchObject({ port: 2000, maxPacketBytes: 1024 * 1024 });
    expect(brokerOptionsFrom(args(), {})).toEqual({ host: '0.0.0.0', port: 1883, wsPort: undefined, maxPacketBytes: 64 * 1024 * 1024 });
    expect(brokerOptionsFrom(args('--max-connect-kb', '16', '--max-queue-mb', '256', '--drain-timeout-ms', '5000'),
      { DYNASPLIT_BROKER_CONNECT_TIMEOUT_MS: '3000', DYNASPLIT_BROKER_DRAIN_TIMEOUT_MS: '9000' }))
      .toMatchObject({ maxConnectBytes: 16 * 1024, connectTimeoutMs: 3000, maxQueueBytes: 256 * 1024 * 1024, drainTimeoutMs: 5000 });
    expect(brokerOptionsFrom(args('--role-max-packet-kb', 'sensor=64', '--role-max-packet-kb', 'meter=4'), { DYNASPLIT_BROKER_ROLE_MAX_PACKET_KB: 'sensor=1' }))
      .toMatchObject({ maxPacketBytesByRole: { sensor: 64 * 1024, meter: 4 * 1024 } });
    expect(brokerOptionsFrom(args(), { DYNASPLIT_BROKER_ROLE_MAX_PACKET_KB: 'sensor=16, edge=1024' }))
      .toMatchObject({ maxPacketBytesByRole: { sensor: 16 * 1024, edge: 1024 * 1024 } });
    expect(brokerOptionsFrom(args('--role-publish-kb-per-s', 'sensor=512'), {})).toMatchObject({ publishBytesPerSecondByRole: { sensor: 512 * 1024 } });
    expect(brokerOptionsFrom(args(), { DYNASPLIT_BROKER_ROLE_PUBLISH_KB_PER_S: 'meter=4' })).toMatchObject({ publishBytesPerSecondByRole: { meter: 4096 } });
  });

  it('rejects bad values with DYNASPLIT_ERR_BAD_ARGS', async () => {
    const never = new Promise<string>(() => {});
    for (const [argv, env] of [
      [['--log-level', 'loud'], {}],
      [['--max-packet-mb', '0'], {}],
      [['--role-max-packet-kb', 'sensor'], {}],
      [['--role-max-packet-kb', 'sensor=0.5'], {}],
      [['--role-max-packet-kb', 'camera=64'], {}],
      [['--role-publish-kb-per-s', 'sensor=fast'], {}],
      [['--port=-1'], {}],
      [['--port', '70000'], {}],
      [[], { DYNASPLIT_BROKER_PORT: 'abc' }],
    ] as [string[], Record<string, string>][]) {
      const err = await serveBroker(args('--host', '127.0.0.1', ...argv), memoryIo(), env, never).catch((e: unknown) => e);
      expect(isDynasplitError(err, 'DYNASPLIT_ERR_BAD_ARGS'), argv.join(' ') || JSON.stringify(env)).toBe(true);
    }
  });

  it('documents its options in --help', () => {
    const help = commandHelp(brokerCommand);
    for (const option of ['--host', '--port', '--ws-port', '--max-packet-mb', '--log-level', 'DYNASPLIT_BROKER_PORT']) {
      expect(help).toContain(option);
    }
  });

  it('closes gracefully on SIGTERM in a real process', async () => {
    const script = [
      `import { brokerCommand } from '${new URL('../../../cli/broker-command.ts', import.meta.url).href}';`,
      `import { parseCommandArgs } from '${new URL('../../../cli/command.ts', import.meta.url).href}';`,
      "const io = { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t), isTTY: false };",
      "process.exitCode = await brokerCommand.run(parseCommandArgs(brokerCommand, ['--host', '127.0.0.1', '--port', '0', '--log-level', 'info']), io);",
    ].join('\n');
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await vi.waitFor(() => expect(out, `the URL (stderr: ${err})`).toContain('mqtt://'), { timeout: 20_000, interval: 10 });
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(err).toContain('"reason":"SIGTERM"');
      expect(err).toContain('"msg":"broker closed"');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
