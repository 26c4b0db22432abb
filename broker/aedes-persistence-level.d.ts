/**
 * Types for aedes-persistence-level 9.x, which ships none. It returns an aedes-persistence
 * CallBackPersistence over its AsyncLevelPersistence, whose promise forms are what aedes 1.x calls;
 * broker/session-store.ts types it as ./persistence.ts's AsyncPersistence. ./level-outgoing.ts
 * extends AsyncLevelPersistence and wraps it in CallBackPersistence as the module does.
 */
declare module 'aedes-persistence-level' {
  /** `db`: an abstract-level database (level >= 9) whose values are Buffers (msgpack-lite). */
  function aedesPersistenceLevel(db: unknown): unknown;
  export default aedesPersistenceLevel;
}

declare module 'aedes-persistence-level/asyncPersistence.js' {
  import type { Readable } from 'node:stream';
  import type { AedesPublishPacket, Client } from 'aedes';
  /** The methods ./level-outgoing.ts overrides; the rest are ./persistence.ts's AsyncPersistence. */
  export default class AsyncLevelPersistence {
    constructor(db: unknown);
    outgoingEnqueue(sub: { clientId: string }, packet: AedesPublishPacket): Promise<void>;
    outgoingUpdate(client: Client, packet: AedesPublishPacket): Promise<void>;
    outgoingClearMessageId(client: Client, packet: AedesPublishPacket): Promise<unknown>;
    outgoingStream(client: Client): Readable;
  }
}

declare module 'aedes-persistence/callBackPersistence.js' {
  /** Promise forms pass through to the instance `factory(opts)` returns; callbacks are adapted. */
  export class CallBackPersistence {
    constructor(factory: (opts: unknown) => unknown, opts?: unknown);
  }
}

declare module 'msgpack-lite' {
  /** The codec aedes-persistence-level stores values with. */
  const msgpack: { encode(value: unknown): Buffer; decode(bytes: Uint8Array): unknown };
  export default msgpack;
}
