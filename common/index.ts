export { DynasplitError, ErrorCodes, isDynasplitError } from './errors.ts';
export type { ErrorCode, DynasplitErrorOptions } from './errors.ts';
