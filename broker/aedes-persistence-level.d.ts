/**
 * Types for aedes-persistence-level 9.x, which ships none. It returns an aedes-persistence
 * CallBackPersistence over its AsyncLevelPersistence, whose promise forms are what aedes 1.x calls;
 * broker/session-store.ts types it as ./persistence.ts's AsyncPersistence.
 */
declare module 'aedes-persistence-level' {
  /** `db`: an abstract-level database (level >= 9) whose values are Buffers (msgpack-lite). */
  function aedesPersistenceLevel(db: unknown): unknown;
  export default aedesPersistenceLevel;
}
