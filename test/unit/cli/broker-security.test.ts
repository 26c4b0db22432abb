/** `dynasplit broker` security flags, `broker hash-password` and `broker mosquitto-acl`. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { parseUsersConfig, verifyPassword } from '../../../broker/index.ts';
import {
  brokerCommand, brokerHashPasswordCommand, brokerMosquittoAclCommand, brokerOptionsFrom, hashPasswordOutput, serveBroker,
} from '../../../cli/broker-command.ts';
import { parseCommandArgs, type Io } from '../../../cli/command.ts';
import { isDynasplitError } from '../../../common/index.ts';
import { createTestPki } from '../../helpers/certs.ts';

const dir = mkdtempSync(join(tmpdir(), 'dynasplit-cli-sec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function memoryIo(): Io & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return { stdout: (t) => { out += t; }, stderr: (t) => { err += t; }, isTTY: false, out: () => out, err: () => err };
}

describe('dynasplit broker hash-password', () => {
  const args = (...argv: string[]) => parseCommandArgs(brokerHashPasswordCommand, argv);

  it('prints a hash that verifies, or a whole users-file entry', async () => {
    const hash = await hashPasswordOutput(args('--log2-n', '10'), 'pa55 word');
    expect(hash).toMatch(/^scrypt\$1024\$8\$1\$/);
    expect(await verifyPassword('pa55 word', hash)).toBe(true);
    const line = await hashPasswordOutput(args('--log2-n', '10', '--username', 'cam-1', '--role', 'sensor', '--certificate-cn', 'cam-1.local'), 'pw');
    const entry = JSON.parse(line) as Record<string, string>;
    expect(entry).toMatchObject({ username: 'cam-1', role: 'sensor', certificateCn: 'cam-1.local' });
    expect(parseUsersConfig({ users: [entry] }).users[0]?.id).toBe('cam-1');
  });

  it('refuses an empty password, a bad role, entry fields without a username and a silly cost', async () => {
    for (const [argv, password] of [[[], ''], [['--username', 'x', '--role', 'root'], 'pw'], [['--role', 'edge'], 'pw'], [['--log2-n', '4'], 'pw']] as const) {
      const err = await hashPasswordOutput(args('--log2-n', '10', ...argv), password).catch((e: unknown) => e);
      expect(isDynasplitError(err, 'DYNASPLIT_ERR_BAD_ARGS'), argv.join(' ')).toBe(true);
    }
  });
});

describe('dynasplit broker security options', () => {
  const args = (...argv: string[]) => parseCommandArgs(brokerCommand, argv);

  it('reads --tls-port, --cert, --key, --ca and --users, or their DYNASPLIT_BROKER_* variables', () => {
    expect(brokerOptionsFrom(args('--tls-port', '8883', '--cert', 'c.pem', '--key', 'k.pem', '--ca', 'ca.pem', '--users', 'u.json'), {}))
      .toMatchObject({ tlsPort: 8883, certFile: 'c.pem', keyFile: 'k.pem', caFile: 'ca.pem', usersFile: 'u.json' });
    const env = { DYNASPLIT_BROKER_TLS_PORT: '0', DYNASPLIT_BROKER_CERT: 'c', DYNASPLIT_BROKER_KEY: 'k', DYNASPLIT_BROKER_CA: 'a', DYNASPLIT_BROKER_USERS_FILE: 'u' };
    expect(brokerOptionsFrom(args(), env)).toMatchObject({ tlsPort: 0, certFile: 'c', keyFile: 'k', caFile: 'a', usersFile: 'u' });
    expect(brokerOptionsFrom(args(), {})).toMatchObject({ tlsPort: undefined, usersFile: undefined });
  });

  it('serves TLS and prints the mqtts:// URL; refuses half a TLS setup or a missing users file', async () => {
    const pki = createTestPki();
    try {
      const users = join(dir, 'users.json');
      writeFileSync(users, JSON.stringify({ users: [] }));
      const io = memoryIo();
      let stop: (reason: string) => void = () => {};
      const exit = serveBroker(args('--host', '127.0.0.1', '--port', '0', '--tls-port', '0', '--cert', pki.server.certFile,
        '--key', pki.server.keyFile, '--users', users, '--log-level', 'info'), io, {}, new Promise((resolve) => { stop = resolve; }));
      await vi.waitFor(() => expect(io.out().split('\n').length).toBeGreaterThanOrEqual(3), { timeout: 10_000, interval: 10 });
      expect(io.out()).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+\nmqtts:\/\/127\.0\.0\.1:\d+\n$/);
      stop('test');
      expect(await exit).toBe(0);
    } finally {
      pki.remove();
    }
    const never = new Promise<string>(() => {});
    for (const [argv, code] of [
      [['--cert', 'c.pem'], 'DYNASPLIT_ERR_BAD_ARGS'],
      [['--tls-port', '0', '--cert', 'c.pem'], 'DYNASPLIT_ERR_BAD_ARGS'],
      [['--tls-port', '0', '--cert', join(dir, 'none.pem'), '--key', join(dir, 'none.key')], 'DYNASPLIT_ERR_FILE_NOT_FOUND'],
      [['--users', join(dir, 'missing.json')], 'DYNASPLIT_ERR_FILE_NOT_FOUND'],
    ] as const) {
      const err = await serveBroker(args('--host', '127.0.0.1', '--port', '0', '--log-level', 'silent', ...argv), memoryIo(), {}, never)
        .catch((e: unknown) => e);
      expect(isDynasplitError(err, code), `${argv.join(' ')}: ${String(err)}`).toBe(true);
    }
  });
});

describe('dynasplit broker mosquitto-acl', () => {
  it('prints the acl_file of a users file', async () => {
    const users = join(dir, 'acl-users.json');
    writeFileSync(users, JSON.stringify({ users: [{ username: 'cam-9', certificateCn: 'cam-9', role: 'sensor' }] }));
    const io = memoryIo();
    expect(await brokerMosquittoAclCommand.run(parseCommandArgs(brokerMosquittoAclCommand, [users]), io)).toBe(0);
    expect(io.out()).toContain('user cam-9\ntopic write dynasplit/v1/frames/cam-9\ntopic read dynasplit/v1/results/cam-9\n');
  });
});
