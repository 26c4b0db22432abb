/**
 * connectInBackground (common/mqtt-background.ts): a connection a node serves without is tried
 * until the broker is there, says so once, and stops trying when told; a refused login is not
 * retried. Real brokers (in-process) on ports that start empty.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { hashPassword, startBroker, type BrokerHandle } from '../../../broker/index.ts';
import { connectInBackground, endMqtt, type MqttClient } from '../../../common/index.ts';
import { freePort } from '../../../local-servers/index.ts';
import { captureLog } from '../../helpers/log.ts';

const dir = mkdtempSync(join(tmpdir(), 'dynasplit-mqtt-background-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function brokerOn(port: number, options: { usersFile?: string } = {}): Promise<BrokerHandle> {
  const broker = await startBroker({ host: '127.0.0.1', port, ...options });
  onTestFinished(() => broker.close());
  return broker;
}

describe('connectInBackground', () => {
  it('tries until the broker is there, warning once, then hands the connection over', async () => {
    const port = await freePort();
    const { lines, logger } = captureLog();
    const connected: MqttClient[] = [];
    const background = connectInBackground(`mqtt://127.0.0.1:${port}`, { clientId: 'bg-1', logger, without: 'node not announced', retryMs: 20 }, (c) => connected.push(c));
    await vi.waitFor(() => expect(lines.map((l) => l.msg)).toContain('node not announced; trying again until the broker is there'));
    expect(background.client).toBeUndefined();
    const broker = await brokerOn(port);
    await vi.waitFor(() => expect(connected).toHaveLength(1), { timeout: 10_000 });
    expect(background.client).toBe(connected[0]);
    expect(broker.stats().clients).toBe(1);
    const made = lines.find((l) => l.msg === 'MQTT connection made')!;
    expect(made.fields.tries).toBeGreaterThan(1);
    expect(lines.filter((l) => l.level === 'warn')).toHaveLength(1);
    expect(await background.stop()).toBe(connected[0]);
    await endMqtt(connected[0]!);
  });

  it('stops trying when stopped, and never connects afterwards', async () => {
    const port = await freePort();
    const { lines, logger } = captureLog();
    let connected = 0;
    const background = connectInBackground(`mqtt://127.0.0.1:${port}`, { clientId: 'bg-2', logger, without: 'policies not followed', retryMs: 20 }, () => { connected++; });
    await vi.waitFor(() => expect(lines).toHaveLength(1));
    expect(await background.stop()).toBeUndefined();
    // stop() resolved after the last try settled: nothing is left to connect once the broker is there.
    const broker = await brokerOn(port);
    expect(broker.stats().clients).toBe(0);
    expect(connected).toBe(0);
    expect(background.client).toBeUndefined();
  });

  it('does not retry a login the broker refuses', async () => {
    const port = await freePort();
    const usersFile = join(dir, 'users.json');
    writeFileSync(usersFile, JSON.stringify({ users: [{ username: 'edge-1', role: 'edge', passwordHash: await hashPassword('right', { N: 1024, r: 8, p: 1 }) }] }));
    await brokerOn(port, { usersFile });
    const { lines, logger } = captureLog();
    const background = connectInBackground(`mqtt://edge-1:wrong@127.0.0.1:${port}`, { clientId: 'edge-1-a', logger, without: 'node not announced', retryMs: 20 }, () => undefined);
    await vi.waitFor(() => expect(lines.map((l) => [l.level, l.msg])).toEqual([['error', 'node not announced; not retried']]));
    expect(await background.stop()).toBeUndefined();
  });
});
