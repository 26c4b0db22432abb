/**
 * The aedes version gate, and the persistence decorator's three hooks over the in-memory store.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { AedesPublishPacket, Client } from 'aedes';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { assertSupportedAedes, installedAedesVersion, SUPPORTED_AEDES } from '../../../broker/aedes-internals.ts';
import { BrokerPersistence, type AsyncPersistence, type PersistenceHooks } from '../../../broker/persistence.ts';
import { openSessionStore } from '../../../broker/session-store.ts';
import { isDynasplitError } from '../../../common/index.ts';

describe('aedes version gate', () => {
  it('accepts the versions the internals were checked against', () => {
    for (const version of [SUPPORTED_AEDES.min, '1.2.9', '1.2.10']) expect(() => assertSupportedAedes(version)).not.toThrow();
  });

  it('refuses any other with DYNASPLIT_ERR_UNSUPPORTED_VERSION', () => {
    for (const version of ['1.3.0', '1.1.9', '2.0.0', '0.51.3', '1.2.0-beta.1', 'not a version']) {
      let caught: unknown;
      try {
        assertSupportedAedes(version);
      } catch (err) {
        caught = err;
      }
      expect(isDynasplitError(caught) && caught.code).toBe('DYNASPLIT_ERR_UNSUPPORTED_VERSION');
      expect((caught as { details: unknown }).details).toEqual({ dependency: 'aedes', version, supported: '>=1.2.0 <1.3.0' });
    }
  });

  it('reads the installed version from aedes\' package.json, and the installed one passes', () => {
    const main = createRequire(import.meta.url).resolve('aedes');
    const { version } = JSON.parse(readFileSync(join(dirname(main), 'package.json'), 'utf8')) as { version: string };
    expect(installedAedesVersion()).toBe(version);
    expect(() => assertSupportedAedes()).not.toThrow();
  });
});

const client = (id: string) => ({ id, clean: false }) as unknown as Client;
let counter = 0;
function packet(topic: string): AedesPublishPacket {
  counter += 1;
  return { cmd: 'publish', topic, payload: Buffer.from('x'), qos: 1, retain: false, dup: false, brokerId: 'b1', brokerCounter: counter } as unknown as AedesPublishPacket;
}

async function queued(persistence: AsyncPersistence, clientId: string): Promise<string[]> {
  const topics: string[] = [];
  for await (const p of persistence.outgoingStream(client(clientId))) topics.push((p as AedesPublishPacket).topic);
  return topics;
}

async function decorated(hooks: Partial<PersistenceHooks>): Promise<BrokerPersistence> {
  const { persistence } = await openSessionStore(undefined, pino({ level: 'silent' }));
  const full: PersistenceHooks = { queueTargets: () => [], sessionEnded: () => {}, ...hooks };
  const decorator = new BrokerPersistence(persistence, full);
  await decorator.setup({ id: 'b1' });
  return decorator;
}

describe('BrokerPersistence hooks', () => {
  it('adds the queues the hooks name to those aedes asks for, once per client', async () => {
    const p = await decorated({ queueTargets: (pk) => (pk.topic === 't' ? ['member', 'plain'] : []) });
    await p.outgoingEnqueueCombi([{ clientId: 'plain' }], packet('t'));
    await p.outgoingEnqueueCombi([], packet('other'));
    expect(await queued(p, 'member')).toEqual(['t']);
    expect(await queued(p, 'plain')).toEqual(['t']);
  });

  it('queues a persistent session\'s copy missing from the queue and updates again, not a clean session\'s', async () => {
    const p = await decorated({});
    const first = packet('t');
    const clean = { id: 'x', clean: true } as unknown as Client;
    await expect(p.outgoingUpdate(clean, { ...first, messageId: 1 })).rejects.toThrow('no such packet');
    expect(await queued(p, 'x')).toEqual([]);
    // A pick sent over a QoS 0 route of a persistent member, never queued.
    await p.outgoingUpdate(client('x'), { ...first, messageId: 1 });
    expect(await queued(p, 'x')).toEqual(['t']);
    // A persistent session's packet that a PUBACK for another packet with the same id cleared.
    const second = packet('u');
    await p.outgoingEnqueue({ clientId: 'y' }, second);
    await p.outgoingUpdate(client('y'), { ...second, messageId: 7 });
    await p.outgoingClearMessageId(client('y'), { ...packet('v'), messageId: 7 });
    expect(await queued(p, 'y')).toEqual([]);
    await p.outgoingUpdate(client('y'), { ...second, messageId: 7 });
    expect(await queued(p, 'y')).toEqual(['u']);
  });

  it('tells the hooks when a session ends, and keeps cleanIncoming where the store has it', async () => {
    const ended: string[] = [];
    const p = await decorated({ sessionEnded: (c) => ended.push(c.id) });
    await p.addSubscriptions(client('s'), [{ topic: 'a', qos: 1 }]);
    await p.cleanSubscriptions(client('s'));
    expect(ended).toEqual(['s']);
    expect(await p.subscriptionsByClient(client('s'))).toEqual([]);
    expect(typeof p.cleanIncoming).toBe('function');
    const bare = { setup: async () => {} } as unknown as AsyncPersistence;
    expect(new BrokerPersistence(bare).cleanIncoming).toBeUndefined();
  });
});
