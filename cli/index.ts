/** The `dynasplit` command's front door, for bin/dynasplit.js and the tests: argv in, exit code out. */
export { main, processIo } from './main.ts';
export type { Io } from './command.ts';
