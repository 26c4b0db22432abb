/**
 * logConnection (common/mqtt.ts): a node's MQTT connection says when it is lost and back, and, when
 * another client keeps taking its client id over, that another client may share the id. A real
 * broker (in-process, port 0); the takeovers are real CONNECTs with the same id.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { startBroker, type BrokerHandle } from '../../../broker/index.ts';
import { connectMqtt, endMqtt, logConnection } from '../../../common/index.ts';
import { captureLog } from '../../helpers/log.ts';

let broker: BrokerHandle;
beforeAll(async () => { broker = await startBroker({ host: '127.0.0.1', port: 0 }); });
afterAll(async () => { await broker?.close(); });

/** Connects another client with `id` (never reconnecting): the broker closes the one that had it. */
async function takeOver(id: string): Promise<void> {
  const other = await mqtt.connectAsync(broker.url, { clientId: id, reconnectPeriod: 0 });
  onTestFinished(() => other.endAsync(true));
}

describe('logConnection', () => {
  it('logs a lost connection and its return, and says nothing when the client ends', async () => {
    const id = `lc-${Math.random().toString(36).slice(2, 8)}`;
    const { lines, logger } = captureLog();
    const client = await connectMqtt(broker.url, { clientId: id, prepare: (c) => logConnection(c, logger, id) });
    const back = new Promise<void>((resolve) => client.once('connect', () => resolve()));
    await takeOver(id);
    await back; // mqtt.js reconnected, taking the id back
    expect(lines.map((l) => [l.level, l.msg])).toEqual([['warn', 'MQTT connection lost; reconnecting'], ['info', 'MQTT connection restored']]);
    expect(lines[1].fields.awayMs).toBeGreaterThanOrEqual(0);
    await endMqtt(client);
    expect(lines).toHaveLength(2);
  });

  it('says another client may share the id when the broker keeps closing the connection soon after it opens', async () => {
    const id = `lc-${Math.random().toString(36).slice(2, 8)}`;
    const { lines, logger } = captureLog();
    const client = await connectMqtt(broker.url, { clientId: id, prepare: (c) => logConnection(c, logger, id) });
    onTestFinished(() => endMqtt(client));
    for (let i = 0; i < 3; i++) {
      const back = new Promise<void>((resolve) => client.once('connect', () => resolve()));
      await takeOver(id);
      await back;
    }
    const warnings = lines.filter((l) => l.level === 'warn').map((l) => l.msg);
    expect(warnings.slice(0, 2)).toEqual(['MQTT connection lost; reconnecting', 'MQTT connection lost; reconnecting']);
    expect(warnings[2]).toContain('another client may be connected with the same client id');
    await vi.waitFor(() => expect(broker.stats().takeovers).toBeGreaterThanOrEqual(6));
  });
});
