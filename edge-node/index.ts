/** The edge node component. */
export { startEdgeNode } from './edge-node.ts';
export type { EdgeNode, EdgeNodeDeps } from './edge-node.ts';
export { parseEdgeOptions, defaultEdgeOptions } from './options.ts';
export type { EdgeNodeInput, EdgeNodeOptions } from './options.ts';
export type { JournalFs } from './journal.ts';
export { nodeFs } from './journal.ts';
// The state directory's record format (docs/reliability.md), for tools and tests that read or prepare a journal.
export { decodeRecords, encodeRecord, RecordKind } from './journal-records.ts';
export type { JournalRecord } from './journal-records.ts';
