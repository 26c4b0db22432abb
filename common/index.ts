export { DynasplitError, ErrorCodes, isDynasplitError } from './errors.ts';
export type { ErrorCode, DynasplitErrorOptions } from './errors.ts';
export { createProgress } from './progress.ts';
export type { Progress, ProgressSink } from './progress.ts';
