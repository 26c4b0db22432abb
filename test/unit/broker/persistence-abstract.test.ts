/**
 * aedes-persistence's own abstract test suite (the one every aedes persistence runs) against the
 * persistence the broker hands aedes: BrokerPersistence, with shared subscriptions' hooks, over the
 * in-memory store and over LevelDB as broker/session-store.ts opens them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe } from 'vitest';
import { BrokerPersistence } from '../../../broker/persistence.ts';
import { openSessionStore } from '../../../broker/session-store.ts';
import { SharedSubscriptions } from '../../../broker/shared-subscriptions.ts';
import { nodeTest, type NodeTest } from './node-test-shim.ts';

type AbstractSuite = (options: { test: NodeTest; persistence: () => Promise<BrokerPersistence>; testAsync: true }) => void;
const abstractSuite = createRequire(import.meta.url)('aedes-persistence/abstract.js') as AbstractSuite;
const logger = pino({ level: 'silent' });

describe('BrokerPersistence over the in-memory store: aedes-persistence abstract suite', () => {
  abstractSuite({
    test: nodeTest,
    testAsync: true,
    persistence: async () => new BrokerPersistence((await openSessionStore(undefined, logger)).persistence, new SharedSubscriptions(logger)),
  });
});

describe('BrokerPersistence over LevelDB: aedes-persistence abstract suite', () => {
  let root = '';
  let n = 0;
  beforeAll(async () => { root = await mkdtemp(join(tmpdir(), 'dynasplit-persistence-')); });
  afterAll(() => rm(root, { recursive: true, force: true }));
  abstractSuite({
    test: nodeTest,
    testAsync: true,
    // The suite's cleanup is `destroy()`, which closes the database as the store's close() does.
    persistence: async () => {
      n += 1;
      const store = await openSessionStore({ dir: join(root, String(n)) }, logger);
      return new BrokerPersistence(store.persistence, new SharedSubscriptions(logger));
    },
  });
});
