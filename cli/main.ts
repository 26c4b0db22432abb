/**
 * Entry point of the `dynasplit` command. The only place that reads argv and writes to the process's
 * streams; commands receive an Io.
 */
import { isDynasplitError } from '../common/index.ts';
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

export function processIo(): Io {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    isTTY: process.stderr.isTTY === true,
  };
}

export async function main(argv: string[], io: Io = processIo()): Promise<number> {
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
    return await command.run(args, io);
  } catch (err) {
    return reportError(err, json, io);
  }
}

function groupHelp(argv: string[], io: Io): number {
  const words = argv.filter((a) => !a.startsWith('-'));
  const prefix = words.length > 0 && GROUPS[words[0]] ? [words[0]] : [];
  const listed = COMMANDS.filter((c) => prefix.every((w, i) => c.path[i] === w));
  const asked = argv.length === 0 || argv.includes('--help') || argv.includes('-h') || (prefix.length > 0 && words.length === 1);
  const lines = [
    `usage: dynasplit ${prefix.length ? `${prefix[0]} ` : ''}COMMAND [options]`,
    '',
    ...(prefix.length ? [GROUPS[prefix[0]], ''] : ['Split neural-network inference between edge and cloud, per request.', '']),
    'commands:',
    ...listed.map((c) => `  ${c.path.join(' ').padEnd(16)} ${c.summary}`),
    '',
    `Run 'dynasplit COMMAND --help' for a command's options.`,
    '',
  ];
  if (asked) {
    io.stdout(lines.join('\n'));
    return 0;
  }
  io.stderr(`error DYNASPLIT_ERR_BAD_ARGS: unknown command '${words.join(' ')}'\n\n${lines.join('\n')}`);
  return 2;
}

function reportError(err: unknown, json: boolean, io: Io): number {
  const code = isDynasplitError(err) ? err.code : 'DYNASPLIT_ERR_INTERNAL';
  const message = err instanceof Error ? err.message : String(err);
  if (json) io.stdout(`${JSON.stringify({ error: isDynasplitError(err) ? err.toJSON() : { code, message } })}\n`);
  io.stderr(`error ${code}: ${message}\n`);
  if (!isDynasplitError(err) && err instanceof Error && err.stack) io.stderr(`${err.stack}\n`);
  return code === 'DYNASPLIT_ERR_BAD_ARGS' ? 2 : 1;
}
