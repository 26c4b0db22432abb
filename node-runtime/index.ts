/**
 * Front door of the node runtime: the set-up an edge node and a cloud worker share (models and
 * their sessions, hardware, transport) and the rule for their session threads.
 */
export { startNodeRuntime } from './runtime.ts';
export type { NodeRuntime, NodeRuntimeDeps, NodeRuntimeOptions } from './runtime.ts';
export { sessionThreads } from './threads.ts';
export type { ThreadOptions } from './threads.ts';
export { addModels, defaultServedCard, ModelCards, parseCardSpecs, parseModelSpec } from './models.ts';
export type { AddModelsOptions, ServedCard } from './models.ts';
export { floatTensor } from './tensors.ts';
export { checkNodeOptions, DEFAULT_INFERENCE_THREAD, ENERGY_METERS } from './options.ts';
export type { NodeOptions } from './options.ts';
export { announcementOf, startAnnouncer } from './announce.ts';
export type { AnnounceOptions, Announcer } from './announce.ts';
