/**
 * MQTT security against real TLS (certificates made by openssl for the test): our broker's TLS
 * listener, password and client-certificate logins through common/mqtt.ts's connectMqtt, and the
 * same ACL enforced by Mosquitto from `mosquittoAcl()` (docs/security.md). NATS: security-nats.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { hashPassword, mosquittoAcl, parseUsersConfig, startBroker, type BrokerHandle } from '../../broker/index.ts';
import { waitForEdge } from '../../client/index.ts';
import { connectMqtt, isDynasplitError, silentLogger, type MqttClient, type MqttConnectOptions } from '../../common/index.ts';
import { createTestPki, type TestPki } from '../helpers/certs.ts';
import { freePort, startMosquitto, type RunningServer } from '../../local-servers/index.ts';
import { granted } from '../helpers/suback.ts';

const dir = mkdtempSync(join(tmpdir(), 'dynasplit-security-'));
const logs: Record<string, unknown>[] = [];
let pki: TestPki;
let broker: BrokerHandle;
let usersJson: unknown;
let n = 0;

beforeAll(async () => {
  pki = createTestPki();
  const hash = (pw: string) => hashPassword(pw, { N: 1024, r: 8, p: 1 });
  usersJson = {
    users: [
      { username: 'cam-1', passwordHash: await hash('cam-1-pw'), role: 'sensor' },
      { username: 'cam-2', passwordHash: await hash('cam-2-pw'), role: 'sensor' },
      { username: 'edge-1', certificateCn: 'edge-1.cert', role: 'edge' },
      { username: 'opt', passwordHash: await hash('opt-pw'), role: 'optimizer' },
      { username: 'plug', passwordHash: await hash('plug-pw'), role: 'meter' },
    ],
  };
  writeFileSync(join(dir, 'users.json'), JSON.stringify(usersJson));
  const logger = pino({ level: 'debug' }, { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) });
  broker = await startBroker({
    host: '127.0.0.1', port: 0, tlsPort: 0, certFile: pki.server.certFile, keyFile: pki.server.keyFile, caFile: pki.caFile,
    usersFile: join(dir, 'users.json'),
  }, { logger });
});
afterAll(async () => {
  await broker?.close();
  pki?.remove();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * connectMqtt, ended after the test, with a client id the account may use (docs/security.md "Client
 * ids"): a fresh one in its namespace, or the edge node's own for the certificate-only edge account.
 */
async function connect(url: string, options: Partial<MqttConnectOptions> = {}): Promise<MqttClient> {
  const username = options.username ?? (decodeURIComponent(new URL(url).username) || undefined);
  const clientId = username === undefined || username === 'edge-1' ? 'edge-1' : `${username}-${n++}`;
  const client = await connectMqtt(url, { clientId, connectTimeoutMs: 5_000, ...options });
  onTestFinished(() => client.endAsync(true));
  return client;
}

async function refused(url: string, options: Partial<MqttConnectOptions> = {}): Promise<Error & { details?: Record<string, unknown>; retryable?: boolean }> {
  const err = await connect(url, options).then(() => undefined, (e: unknown) => e);
  expect(isDynasplitError(err, 'DYNASPLIT_ERR_TRANSPORT'), String(err)).toBe(true);
  return err as Error;
}

/** The payloads `client` receives from now on, once there are `count` of them (more may follow). */
async function received(client: MqttClient, count: number): Promise<string[]> {
  const got: string[] = [];
  client.on('message', (_topic, payload) => got.push(payload.toString()));
  await vi.waitFor(() => expect(got.length).toBeGreaterThanOrEqual(count), { timeout: 5_000, interval: 10 });
  return got;
}

describe('MQTT over TLS (aedes broker)', () => {
  it('serves mqtts:// with a password login, trusting the test CA', async () => {
    expect(broker.tlsUrl).toBe(`mqtts://127.0.0.1:${broker.tlsPort}`);
    const sub = await connect(broker.tlsUrl!, { username: 'cam-1', password: 'cam-1-pw', ca: pki.ca });
    expect(await granted(sub, 'dynasplit/v1/results/cam-1')).toBe(1);
  });

  it('a plain MQTT client cannot talk to the TLS port, and a TLS client refuses a server its CA did not sign', async () => {
    await refused(`mqtt://127.0.0.1:${broker.tlsPort}`, { username: 'cam-1', password: 'cam-1-pw', connectTimeoutMs: 2_000 });
    await refused(broker.tlsUrl!, { username: 'cam-1', password: 'cam-1-pw' });
    await refused(broker.tlsUrl!, { username: 'cam-1', password: 'cam-1-pw', ca: pki.foreignClient('x').cert });
  });

  it('a client certificate logs in as the account its CN names, with that account\'s ACL', async () => {
    const edge = await connect(broker.tlsUrl!, { ca: pki.ca, cert: pki.client('edge-1.cert').cert, key: pki.client('edge-1.cert').key });
    expect(await granted(edge, '$share/edge/dynasplit/v1/frames/+')).toBe(1);
    expect(await granted(edge, 'dynasplit/v1/tail-replies/edge-1')).toBe(1);
    expect(await granted(edge, 'dynasplit/v1/results/+')).toBe(128);
    const sensor = await connect(broker.url, { username: 'cam-1', password: 'cam-1-pw' });
    const frames = received(edge, 1);
    await sensor.publishAsync('dynasplit/v1/frames/cam-1', 'frame', { qos: 1 });
    expect(await frames).toEqual(['frame']);
    expect(logs.some((l) => l.msg === 'MQTT login' && l.username === 'edge-1' && l.via === 'certificate')).toBe(true);
  });

  it('refuses certificates from another CA, CNs without an account, and a username that contradicts the certificate', async () => {
    const foreign = pki.foreignClient('edge-1.cert');
    const stranger = pki.client('nobody.cert');
    const edgeCert = pki.client('edge-1.cert');
    expect((await refused(broker.tlsUrl!, { ca: pki.ca, cert: foreign.cert, key: foreign.key })).details).toMatchObject({ returnCode: 5 });
    expect(logs.some((l) => l.msg === 'client certificate not verified; ignored')).toBe(true);
    expect((await refused(broker.tlsUrl!, { ca: pki.ca, cert: stranger.cert, key: stranger.key })).details).toMatchObject({ returnCode: 5 });
    expect(logs.some((l) => l.msg === 'MQTT login refused' && l.reason === "no account for certificate CN 'nobody.cert'")).toBe(true);
    const mismatch = await refused(broker.tlsUrl!, { ca: pki.ca, cert: edgeCert.cert, key: edgeCert.key, username: 'opt', password: 'opt-pw' });
    expect(mismatch.details).toMatchObject({ returnCode: 4 });
    // A certificate does not help on the plain port, and a cert-only account has no password.
    expect((await refused(broker.url, { username: 'edge-1', password: '' })).details).toMatchObject({ returnCode: 4 });
  });

  it('a refused login is not retryable, and the password in a URL stays out of the error', async () => {
    const err = await refused(broker.url.replace('mqtt://', 'mqtt://cam-1:s3cret-wrong@'));
    expect(err.retryable).toBe(false);
    expect(err.details).toMatchObject({ returnCode: 4, refused: 'bad user name or password' });
    expect(err.message).not.toContain('s3cret-wrong');
    expect(JSON.stringify(err.details)).not.toContain('s3cret-wrong');
    // Credentials in the URL work like the options.
    const ok = await connect(broker.url.replace('mqtt://', 'mqtt://cam-2:cam-2-pw@'));
    expect(await granted(ok, 'dynasplit/v1/results/cam-2')).toBe(1);
  });
});

describe('waiting for an edge under the ACL (aedes broker)', () => {
  it('a sensor account may read the edges\' announcements; an account that may not is refused at once, not after its wait', async () => {
    const camera = await connect(broker.url.replace('mqtt://', 'mqtt://cam-1:cam-1-pw@'));
    expect(await granted(camera, 'dynasplit/v1/nodes/edge/+')).toBe(1);
    expect(await granted(camera, 'dynasplit/v1/nodes/cloud/+')).toBe(0x80);
    const plug = await connect(broker.url.replace('mqtt://', 'mqtt://plug:plug-pw@'));
    await expect(waitForEdge(plug, 'm', 60_000, silentLogger())).rejects.toMatchObject({
      code: 'DYNASPLIT_ERR_FORBIDDEN', message: expect.stringContaining('may not read the edges\' announcements'),
    });
  });
});

describe('the same ACL on Mosquitto (acl_file from mosquittoAcl)', () => {
  let mosquitto: RunningServer;
  let tlsUrl: string;

  beforeAll(async () => {
    // Mosquitto started as root drops to the mosquitto user, which must read these files.
    const confDir = mkdtempSync(join(tmpdir(), 'dynasplit-mosq-auth-'));
    chmodSync(confDir, 0o755);
    const passwords = join(confDir, 'passwords');
    writeFileSync(passwords, '');
    for (const [user, pw] of [['cam-1', 'cam-1-pw'], ['cam-2', 'cam-2-pw'], ['opt', 'opt-pw'], ['edge-1', 'edge-1-pw']]) {
      execFileSync('mosquitto_passwd', ['-b', passwords, user!, pw!]);
    }
    writeFileSync(join(confDir, 'acl'), mosquittoAcl(parseUsersConfig(usersJson)));
    for (const file of ['passwords', 'acl']) chmodSync(join(confDir, file), 0o644);
    chmodSync(pki.dir, 0o755);
    chmodSync(pki.server.keyFile, 0o644);
    const tlsPort = await freePort();
    tlsUrl = `mqtts://127.0.0.1:${tlsPort}`;
    mosquitto = await startMosquitto({ config: [
      'allow_anonymous false', `password_file ${passwords}`, `acl_file ${join(confDir, 'acl')}`,
      `listener ${tlsPort} 127.0.0.1`, `cafile ${pki.caFile}`, `certfile ${pki.server.certFile}`, `keyfile ${pki.server.keyFile}`,
      'require_certificate true', 'use_identity_as_username true',
    ] });
    return async () => {
      await mosquitto.stop();
      rmSync(confDir, { recursive: true, force: true });
    };
  });

  it('a sensor cannot read another sensor\'s results; a forged policy never reaches an edge node; shared frames flow', async () => {
    const own = await connect(mosquitto.url, { username: 'cam-1', password: 'cam-1-pw' });
    const other = await connect(mosquitto.url, { username: 'cam-2', password: 'cam-2-pw' });
    await own.subscribeAsync('dynasplit/v1/results/cam-1', { qos: 1 });
    await other.subscribeAsync('dynasplit/v1/results/cam-1', { qos: 1 }).catch(() => undefined); // Mosquitto 2.0 grants it, delivers nothing
    const edge = await connect(mosquitto.url, { username: 'edge-1', password: 'edge-1-pw' });
    await edge.subscribeAsync(['$share/edge/dynasplit/v1/frames/+', 'dynasplit/v1/policy/+/+'], { qos: 1 });
    await other.subscribeAsync('dynasplit/v1/results/cam-2', { qos: 1 });
    const ownGot = received(own, 1);
    // cam-2's own result, published after cam-1's: Mosquitto routes in order, so a leak of cam-1's would come first.
    const otherGot = received(other, 1);
    // The forged policies are published before the optimizer's: had one got through, it would be among the first two.
    const edgeGot = received(edge, 2);

    await other.publishAsync('dynasplit/v1/frames/cam-2', 'frame', { qos: 1 });
    await other.publishAsync('dynasplit/v1/policy/m/c', 'forged by a sensor', { qos: 1, retain: true }); // acked, dropped (§3.3.5)
    await edge.publishAsync('dynasplit/v1/policy/m/c', 'forged by an edge', { qos: 1, retain: true });
    await edge.publishAsync('dynasplit/v1/results/cam-1', 'result', { qos: 1 });
    await edge.publishAsync('dynasplit/v1/results/cam-2', 'own result', { qos: 1 });
    const optimizer = await connect(mosquitto.url, { username: 'opt', password: 'opt-pw' });
    await optimizer.publishAsync('dynasplit/v1/policy/m/c', 'policy', { qos: 1, retain: true });

    expect(await ownGot).toEqual(['result']);
    expect(await otherGot).toEqual(['own result']);
    expect((await edgeGot).sort()).toEqual(['frame', 'policy']);
    await optimizer.publishAsync('dynasplit/v1/policy/m/c', '', { qos: 1, retain: true });
  });

  it('a client certificate\'s CN is the username on the TLS listener (use_identity_as_username)', async () => {
    const cert = pki.client('edge-1.cert');
    const edge = await connect(tlsUrl, { ca: pki.ca, cert: cert.cert, key: cert.key });
    await edge.subscribeAsync('$share/edge/dynasplit/v1/frames/+', { qos: 1 });
    const got = received(edge, 1);
    const sensor = await connect(mosquitto.url, { username: 'cam-1', password: 'cam-1-pw' });
    await sensor.publishAsync('dynasplit/v1/frames/cam-1', 'via cert', { qos: 1 });
    expect(await got).toEqual(['via cert']);
    await refused(tlsUrl, { ca: pki.ca, username: 'cam-1', password: 'cam-1-pw' }); // require_certificate
  });
});
