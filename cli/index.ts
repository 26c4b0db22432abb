/** The `dynasplit` command's front door, for bin/dynasplit.js and the tests: argv in, exit code out. */
export { main, processIo } from './main.ts';
export type { Io } from './command.ts';
/** SVG to PNG with the system fonts: the report test checks that text is drawn. */
export { svgToPng } from './plot-render.ts';
