/** The edge node component. */
export { startEdgeNode } from './edge-node.ts';
export type { EdgeNode, EdgeNodeDeps } from './edge-node.ts';
export { parseEdgeOptions, defaultEdgeOptions } from './options.ts';
export type { EdgeNodeInput, EdgeNodeOptions } from './options.ts';
export type { JournalFs } from './journal.ts';
export { nodeFs } from './journal.ts';
