/**
 * Types for aedes-persistence-level 9.x, which ships none: the factory and the part of the
 * persistence it returns (an aedes-persistence CallBackPersistence over AsyncLevelPersistence)
 * that broker/session-store.ts calls itself. aedes calls the rest.
 */
declare module 'aedes-persistence-level' {
  export interface LevelPersistence {
    /** The client's stored subscriptions, `$share/...` ones as the client sent them. */
    subscriptionsByClient(client: { id: string }): Promise<{ topic: string; qos: number }[]>;
    /** Closes the LevelDB instance it was given. */
    destroy(): Promise<void>;
  }

  /** `db`: an abstract-level database (level >= 9) whose values are Buffers (msgpack-lite). */
  function aedesPersistenceLevel(db: unknown): LevelPersistence;
  export default aedesPersistenceLevel;
}
