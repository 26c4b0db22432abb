/**
 * subscribeAcrossReconnects (common/mqtt.ts): a subscription the broker cuts off before its SUBACK,
 * by closing the connection, is made again once the client is back. A real broker (in-process,
 * port 0) whose subscribe hook drops the connection the first time.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { Client, Subscription } from 'aedes';
import { startBroker, type BrokerHandle } from '../../../broker/index.ts';
import { connectMqtt, endMqtt, subscribeAcrossReconnects } from '../../../common/index.ts';

let broker: BrokerHandle;
beforeAll(async () => { broker = await startBroker({ host: '127.0.0.1', port: 0 }); });
afterAll(async () => { await broker?.close(); });

type Authorize = (client: Client, sub: Subscription, callback: (err: Error | null, sub?: Subscription | null) => void) => void;

/** Makes the broker close `clientId`'s connection on its next `drops` SUBSCRIBEs, before answering them. */
function dropOnSubscribe(clientId: string, drops: number): void {
  const aedes = broker.aedes as unknown as { authorizeSubscribe: Authorize };
  const original = aedes.authorizeSubscribe;
  let left = drops;
  aedes.authorizeSubscribe = (client, sub, callback) => {
    if (client.id === clientId && left > 0) {
      left--;
      (client as unknown as { conn: { destroy(): void } }).conn.destroy();
      return;
    }
    original.call(aedes, client, sub, callback);
  };
  onTestFinished(() => { aedes.authorizeSubscribe = original; });
}

describe('subscribeAcrossReconnects', () => {
  it('subscribes again once the client is back when the broker closes the connection before the SUBACK', async () => {
    const id = `sub-${Math.random().toString(36).slice(2, 8)}`;
    const client = await connectMqtt(broker.url, { clientId: id });
    onTestFinished(() => endMqtt(client));
    dropOnSubscribe(id, 1);
    const grants = await subscribeAcrossReconnects(client, `t/${id}`, { qos: 1 });
    expect(grants.map((g) => [g.topic, g.qos])).toEqual([[`t/${id}`, 1]]);
    const got = new Promise<string>((resolve) => client.once('message', (_topic, payload) => resolve(payload.toString())));
    await client.publishAsync(`t/${id}`, 'after', { qos: 1 });
    expect(await got).toBe('after');
  });

  it('gives up after its tries, with the error the subscription got', async () => {
    const id = `sub-${Math.random().toString(36).slice(2, 8)}`;
    const client = await connectMqtt(broker.url, { clientId: id });
    onTestFinished(() => endMqtt(client));
    dropOnSubscribe(id, 2);
    await expect(subscribeAcrossReconnects(client, `t/${id}`, { qos: 1 }, 2)).rejects.toThrow(/Connection closed/);
  });
});
