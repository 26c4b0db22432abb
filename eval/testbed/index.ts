/**
 * The testbed's run (`dynasplit eval testbed`): the strategies on an embedded pipeline. The one part of
 * eval/ with I/O, behind its own front door so that eval/index.ts (the pure core) does not load the
 * broker and the nodes; like cli/, it composes the components' front doors.
 */
export { runTestbed } from './run.ts';
export type { MeasuredModel, ModelOutcome, TestbedDeps, TestbedIo, TestbedOptions, WrittenFile } from './run.ts';
