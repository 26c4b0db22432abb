/**
 * Entry point of the `dynasplit` command. The only place that reads argv and writes to the process's
 * streams; commands receive an Io.
 */
import { closest, DynasplitError, ErrorCodes, flushLogRepeats, isDynasplitError, packageVersion, printAboveProgress, releaseProgressLine } from '../common/index.ts';
import { commandHelp, parseCommandArgs, type Command, type Io } from './command.ts';
import { brokerCommand, brokerToolCommands } from './broker-command.ts';
import { componentCommands } from './component-commands.ts';
import { demoCommand } from './demo-command.ts';
import { evalCommands } from './eval-commands.ts';
import { testbedCommand } from './eval-testbed-command.ts';
import { modelCommands } from './model-commands.ts';
import { optimizerCommands } from './optimizer-commands.ts';
import { optimizerRunCommand } from './optimizer-run-command.ts';
import { profileCommand } from './profile-command.ts';

const COMMANDS: Command[] = [demoCommand, ...brokerToolCommands, brokerCommand, ...componentCommands, ...modelCommands, ...optimizerCommands, profileCommand, optimizerRunCommand, ...evalCommands, testbedCommand];

const GROUPS: Record<string, string> = {
  model: 'model toolkit: generate zoo models, inspect cut points, split, verify',
  optimizer: 'optimizer: configuration space, profiling, measurement pools, Pareto front, live re-optimization',
  eval: 'evaluation: strategies compared on a testbed run or in simulation, and reported with plots',
};

/**
 * The process's streams. A line printed while a progress bar is on the terminal goes above the bar;
 * text starting with a carriage return is the bar redrawing itself and goes straight through.
 */
export function processIo(): Io {
  const stdout = (text: string) => { process.stdout.write(text); };
  const stderr = (text: string) => { process.stderr.write(text); };
  return {
    stdout: process.stdout.isTTY ? (text) => printAboveProgress(stdout, text) : stdout,
    stderr: (text) => (text.startsWith('\r') ? stderr(text) : printAboveProgress(stderr, text)),
    isTTY: process.stderr.isTTY === true,
  };
}

/** The package's version (common/version.ts: the package.json at the root, as nodes announce it). */
export function version(): string {
  return packageVersion();
}

export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    io.stdout(`dynasplit ${version()}\n`);
    return 0;
  }
  const command = COMMANDS.find((c) => c.path.every((word, i) => argv[i] === word));
  if (!command) return groupHelp(argv, io);
  const rest = argv.slice(command.path.length);
  const json = rest.includes('--json');
  try {
    const args = parseCommandArgs(command, rest);
    if (args.help) {
      io.stdout(commandHelp(command));
      return 0;
    }
    const code = await command.run(args, io);
    releaseProgressLine();
    return code;
  } catch (err) {
    // A bar left mid-line and repeats held back come first, so the error is the last thing printed.
    releaseProgressLine();
    flushLogRepeats();
    return reportError(err, json, io);
  }
}

function groupHelp(argv: string[], io: Io): number {
  const words = argv.filter((a) => !a.startsWith('-'));
  const prefix = words.length > 0 && GROUPS[words[0]] ? [words[0]] : [];
  const listed = COMMANDS.filter((c) => prefix.every((w, i) => c.path[i] === w));
  const width = Math.max(...listed.map((c) => c.path.join(' ').length));
  const asked = argv.length === 0 || argv.includes('--help') || argv.includes('-h') || (prefix.length > 0 && words.length === 1);
  const lines = [
    `usage: dynasplit ${prefix.length ? `${prefix[0]} ` : ''}COMMAND [options]`,
    '',
    ...(prefix.length ? [GROUPS[prefix[0]], ''] : ['Split neural-network inference between edge and cloud, per request.', '']),
    'commands:',
    ...listed.map((c) => `  ${c.path.join(' ').padEnd(width)}  ${c.summary}`),
    '',
    `Run 'dynasplit COMMAND --help' for a command's options, 'dynasplit --version' for the version.`,
    '',
  ];
  if (asked) {
    io.stdout(lines.join('\n'));
    return 0;
  }
  io.stderr(`error DYNASPLIT_ERR_BAD_ARGS: ${unknown(argv, words, prefix)}\n`);
  return 2;
}

/** One line for a command line that names no command: what was not understood, and what may have been meant. */
function unknown(argv: string[], words: string[], prefix: string[]): string {
  const help = `run 'dynasplit ${prefix.length ? `${prefix[0]} ` : ''}--help' for the commands`;
  if (words.length === 0) return `unknown option '${argv[0]}' (${help})`;
  const paths = COMMANDS.map((c) => c.path.join(' '));
  const near = closest(words.slice(0, 2).join(' '), paths) ?? closest(words[0], paths);
  return `unknown command '${words.join(' ')}' (${near ? `did you mean '${near}'? ` : ''}${help})`;
}

function reportError(thrown: unknown, json: boolean, io: Io): number {
  const err = fileError(thrown) ?? thrown;
  const code = isDynasplitError(err) ? err.code : 'DYNASPLIT_ERR_INTERNAL';
  const message = err instanceof Error ? err.message : String(err);
  if (json) io.stdout(`${JSON.stringify({ error: isDynasplitError(err) ? err.toJSON() : { code, message } })}\n`);
  io.stderr(`error ${code}: ${message}\n`);
  if (!isDynasplitError(err) && err instanceof Error && err.stack) io.stderr(`${err.stack}\n`);
  return code === 'DYNASPLIT_ERR_BAD_ARGS' ? 2 : 1;
}

/**
 * A file or folder that failed under a command (its output folder removed during a run, a full disk,
 * a permission) is DYNASPLIT_ERR_STORAGE naming the path, not an internal error with a stack trace.
 */
export function fileError(err: unknown): DynasplitError | undefined {
  const e = err as NodeJS.ErrnoException;
  if (isDynasplitError(err) || !(err instanceof Error) || typeof e.code !== 'string' || typeof e.path !== 'string') return undefined;
  const reason = /^[A-Z0-9]+: ([^,]+)/.exec(e.message)?.[1] ?? e.message;
  return new DynasplitError(ErrorCodes.STORAGE, `cannot ${e.syscall ?? 'use'} ${e.path}: ${reason} (${e.code})`, {
    cause: err, details: { path: e.path, errno: e.code, syscall: e.syscall ?? '' },
  });
}
