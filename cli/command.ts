/**
 * A small command framework over node:util parseArgs: every command declares its options once, and
 * `--help` text, validation and `--json` handling come from that declaration.
 */
import { accessSync, constants, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { closest, DynasplitError, ErrorCodes } from '../common/index.ts';

export interface OptionSpec {
  type: 'string' | 'boolean';
  description: string;
  short?: string;
  /** Shown in help as `--name VALUE`. */
  value?: string;
  default?: string;
  multiple?: boolean;
}

export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Whether stderr is a terminal (progress redraws in place). */
  isTTY: boolean;
}

export interface CommandArgs {
  positionals: string[];
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
}

export interface Command {
  /** Words after `dynasplit`, e.g. ['model', 'inspect']. */
  path: string[];
  summary: string;
  /** Positional part of the usage line, e.g. 'FILE'. */
  usage: string;
  positionals: { min: number; max: number };
  options: Record<string, OptionSpec>;
  /** Extra help text (examples, notes). */
  details?: string;
  run(args: CommandArgs, io: Io): Promise<number>;
}

const HELP: OptionSpec = { type: 'boolean', short: 'h', description: 'show this help' };
/** Every command that logs (declares --log-level) also takes --log-format. */
export const LOG_FORMAT_OPTION: OptionSpec = {
  type: 'string', value: 'FORMAT',
  description: 'log lines as pretty (readable) or json (one object a line) (env DYNASPLIT_LOG_FORMAT; default pretty on a terminal, json otherwise)',
};

/** The options a command accepts: its own, --log-format where it logs, and --help. */
function allOptions(command: Command): Record<string, OptionSpec> {
  const logs = 'log-level' in command.options && !('log-format' in command.options);
  return { ...command.options, ...(logs ? { 'log-format': LOG_FORMAT_OPTION } : {}), help: HELP };
}

export function parseCommandArgs(command: Command, argv: string[]): CommandArgs & { help: boolean } {
  const options = allOptions(command);
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: Object.fromEntries(Object.entries(options).map(([name, o]) => [name, {
        type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}),
        ...(o.default !== undefined ? { default: o.default } : {}),
      }])),
    });
  } catch (cause) {
    throw badArgs(command, parseArgsMessage(cause as Error & { code?: string }, Object.keys(options)));
  }
  const help = parsed.values.help === true;
  const { min, max } = command.positionals;
  if (!help && (parsed.positionals.length < min || parsed.positionals.length > max)) {
    throw badArgs(command, parsed.positionals.length < min ? `missing ${command.usage}` : `unexpected argument '${parsed.positionals[max]}'`);
  }
  return { positionals: parsed.positionals, values: parsed.values, help };
}

/** One line: what is wrong, then the usage. */
function badArgs(command: Command, message: string): DynasplitError {
  return new DynasplitError(ErrorCodes.BAD_ARGS, `${message}; usage: dynasplit ${command.path.join(' ')} ${usageLine(command)}`);
}

/** node:util parseArgs' messages, shorter, with the option that was probably meant. */
function parseArgsMessage(err: Error & { code?: string }, names: string[]): string {
  const option = /'(-{1,2}[^' <]+)/.exec(err.message)?.[1];
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) {
    const near = closest(option.replace(/^-+/, ''), names);
    return `unknown option '${option}'${near ? ` (did you mean '--${near}'?)` : ''}`;
  }
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option && /argument missing/.test(err.message)) return `${option} needs a value`;
  // A value starting with a dash (a negative number) is taken for an option: say how to pass it, on one line.
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option && /ambiguous/.test(err.message)) {
    return `${option} got a value starting with '-'; write it as ${option}=VALUE if it is one`;
  }
  return err.message.replace(/\s*\n\s*/g, ' ');
}

function usageLine(command: Command): string {
  return `${command.usage}${Object.keys(command.options).length > 0 ? ' [options]' : ''}`.trim();
}

export function commandHelp(command: Command): string {
  const rows = Object.entries(allOptions(command)).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
    const def = o.default !== undefined ? ` (default ${o.default})` : '';
    return [flag, `${o.description}${def}`];
  });
  const width = Math.max(...rows.map(([flag]) => flag.length));
  return [
    `usage: dynasplit ${command.path.join(' ')} ${usageLine(command)}`,
    '',
    command.summary,
    '',
    'options:',
    ...rows.map(([flag, text]) => `  ${flag.padEnd(width)}  ${text}`),
    ...(command.details ? ['', command.details] : []),
    '',
  ].join('\n');
}

/** Reads a string option that must be a positive integer. */
/** A flag's or variable's text as a number: NaN for blank text, which Number() would read as 0. */
export function numeric(raw: unknown): number {
  return typeof raw === 'string' && raw.trim() === '' ? Number.NaN : Number(raw);
}

export function intOption(args: CommandArgs, name: string, fallback: number): number {
  const raw = args.values[name];
  if (raw === undefined) return fallback;
  const value = numeric(raw);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `--${name} must be a non-negative integer (at most ${Number.MAX_SAFE_INTEGER}), got '${String(raw)}'`);
  }
  return value;
}

export function stringOption(args: CommandArgs, name: string): string | undefined {
  const raw = args.values[name];
  return typeof raw === 'string' ? raw : undefined;
}

/**
 * `--model NAME` of a command that talks to nodes serving the model (sensor, profile): the name, its
 * file given apart with `--model-file`. The nodes' own `--model NAME=FILE` form is refused with how
 * to say it here, rather than as a name with invalid characters.
 */
export function servedModelName(args: CommandArgs): string | undefined {
  const name = stringOption(args, 'model');
  const eq = name?.indexOf('=') ?? -1;
  if (name !== undefined && eq > 0) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `--model takes the model's name as the nodes serve it; give its file apart: --model ${name.slice(0, eq)} --model-file ${name.slice(eq + 1)}`);
  }
  return name;
}

/**
 * The folder a command writes into (`--out DIR`), made ready before any work: created with its
 * parents when missing (said on stderr, so a mistyped path does not go unnoticed) and checked for
 * writing. What cannot be written there is DYNASPLIT_ERR_BAD_ARGS naming the flag, now, rather than
 * a failure after a long run.
 */
export function prepareOutDir(io: Io, dir: string, flag = 'out', given = dir): void {
  try {
    if (!existsSync(dir)) {
      makeDirs(dir);
      io.stderr(`created directory ${resolve(dir)}\n`);
    }
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    accessSync(dir, constants.W_OK);
  } catch (cause) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `--${flag} ${given}: cannot write ${given === dir ? 'there' : `in ${dir}`} (${(cause as Error).message})`, { cause, details: { dir } });
  }
}

/**
 * `mkdir -p`, a level at a time: Node's recursive mkdirSync loops for ever where mkdir fails with
 * ENOENT under a parent that exists (a path under /proc).
 */
function makeDirs(dir: string): void {
  const missing: string[] = [];
  for (let d = resolve(dir); !existsSync(d); d = dirname(d)) missing.unshift(d);
  for (const d of missing) mkdirSync(d);
}

/** The folder of a file a command writes (`--out FILE`), made ready as prepareOutDir does. */
export function prepareOutFile(io: Io, file: string, flag = 'out'): string {
  if (existsSync(file) && statSync(file).isDirectory()) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `--${flag} ${file} is a directory; give the path of a file to write`, { details: { file } });
  }
  prepareOutDir(io, dirname(resolve(file)), flag, file);
  return file;
}

/** A file a command was pointed at, as text; one it cannot read is DYNASPLIT_ERR_FILE_NOT_FOUND naming it. */
export function readTextFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (cause) {
    throw new DynasplitError(ErrorCodes.FILE_NOT_FOUND, `cannot read ${file}: ${(cause as Error).message}`, { cause, details: { file } });
  }
}
