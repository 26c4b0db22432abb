/**
 * What a new user meets first, through the real `dynasplit` command in a child process: the exit
 * code, a single line on stderr and the error code in it.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const VERSION = (JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string }).version;

interface Run { code: number; stdout: string; stderr: string }

function dynasplit(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const childEnv: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1', ...env };
    // The variables a user may have set must not leak into what is tested.
    for (const name of ['DYNASPLIT_MQTT_URL', 'DYNASPLIT_LOG_FORMAT', 'DYNASPLIT_LOG_LEVEL']) if (!(name in env)) delete childEnv[name];
    execFile(process.execPath, ['bin/dynasplit.js', ...args], { cwd: ROOT, env: childEnv, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function oneErrorLine(run: Run): string {
  const lines = run.stderr.trimEnd().split('\n');
  expect(lines, run.stderr).toHaveLength(1);
  return lines[0];
}

describe('dynasplit first contact', () => {
  it('prints its version with --version and -V', async () => {
    const [long, short] = await Promise.all([dynasplit(['--version']), dynasplit(['-V'])]);
    for (const run of [long, short]) {
      expect(run).toMatchObject({ code: 0, stderr: '' });
      expect(run.stdout).toBe(`dynasplit ${VERSION}\n`);
    }
  });

  it('lists the commands with their summaries in one aligned column', async () => {
    const run = await dynasplit(['--help']);
    expect(run.code).toBe(0);
    const rows = run.stdout.split('\n').filter((line) => /^ {2}\S/.test(line));
    expect(rows.length).toBeGreaterThan(10);
    // The summary starts after the longest command name and two spaces, on every row.
    const column = new Set(rows.map((row) => /^ {2}\S+(?: \S+)? +/.exec(row)![0].length));
    expect([...column]).toHaveLength(1);
  });

  it('answers a misspelled command or option in one line, with the one it resembles', async () => {
    const [command, option, flag] = await Promise.all([
      dynasplit(['optimizer', 'serch']), dynasplit(['--frob']), dynasplit(['edge', '--mqt', 'mqtt://h:1883']),
    ]);
    expect(command.code).toBe(2);
    expect(oneErrorLine(command)).toBe(
      "error DYNASPLIT_ERR_BAD_ARGS: unknown command 'optimizer serch' (did you mean 'optimizer search'? run 'dynasplit optimizer --help' for the commands)",
    );
    expect(option.code).toBe(2);
    expect(oneErrorLine(option)).toBe("error DYNASPLIT_ERR_BAD_ARGS: unknown option '--frob' (run 'dynasplit --help' for the commands)");
    expect(flag.code).toBe(2);
    expect(oneErrorLine(flag)).toBe("error DYNASPLIT_ERR_BAD_ARGS: unknown option '--mqt' (did you mean '--mqtt'?); usage: dynasplit edge [options]");
  });

  it('refuses an MQTT URL without a scheme before connecting, naming the flag and the URL meant', async () => {
    const runs = await Promise.all([
      dynasplit(['edge', '--mqtt', 'localhost:1883']),
      dynasplit(['optimizer', 'run', '--mqtt', 'localhost:1883', '--metrics', 'influxdb']),
    ]);
    for (const run of runs) {
      expect(run.code, run.stderr).toBe(2);
      expect(run.stdout).toBe('');
      expect(oneErrorLine(run)).toBe(
        "error DYNASPLIT_ERR_BAD_ARGS: --mqtt must be a URL with a scheme, mqtt://HOST:PORT (or mqtts, tcp, tls, ssl, ws, wss); got 'localhost:1883' (did you mean mqtt://localhost:1883?)",
      );
    }
  });

  it('names DYNASPLIT_MQTT_URL when the bad URL came from the environment', async () => {
    const run = await dynasplit(['sensor'], { DYNASPLIT_MQTT_URL: 'broker.local:1883' });
    expect(run.code).toBe(2);
    expect(oneErrorLine(run)).toMatch(/^error DYNASPLIT_ERR_BAD_ARGS: DYNASPLIT_MQTT_URL must be a URL with a scheme.*mqtt:\/\/broker\.local:1883/);
  });

  it('answers the nodes\' --model NAME=FILE given to a command that takes the name and the file apart', async () => {
    const [sensor, profile] = await Promise.all([
      dynasplit(['sensor', '--model', 'mine=models/mine.onnx', '--mqtt', 'mqtt://127.0.0.1:1']),
      dynasplit(['optimizer', 'profile', '--model', 'mine=models/mine.onnx', '--out', 'never.csv']),
    ]);
    for (const run of [sensor, profile]) {
      expect(run.code).toBe(2);
      expect(oneErrorLine(run)).toBe("error DYNASPLIT_ERR_BAD_ARGS: --model takes the model's name as the nodes serve it; give its file apart: --model mine --model-file models/mine.onnx");
    }
  });

  it('eval simulate says where the figures it replays come from', async () => {
    const run = await dynasplit(['eval', 'simulate', '--pool', 'docs/results/testbed/pool-vgg16.csv', '--budgets', 'weibull:2', '--requests', '500']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.split('\n')[1]).toBe("figures replay the pool's runs: latency emulated, energy modelled, accuracy measured");
  });

  it('says how to pass a negative value, in one line', async () => {
    const run = await dynasplit(['eval', 'simulate', '--requests', '-5']);
    expect(run.code).toBe(2);
    expect(oneErrorLine(run)).toMatch(/^error DYNASPLIT_ERR_BAD_ARGS: --requests got a value starting with '-'; write it as --requests=VALUE if it is one; usage:/);
  });

  it('answers a directory given as a model file in one coded line, whatever the command', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dynasplit-first-dir-'));
    try {
      const runs = await Promise.all([
        dynasplit(['model', 'inspect', dir]),
        dynasplit(['optimizer', 'space', '--model', dir]),
        dynasplit(['edge', '--model', `m=${dir}`, '--mqtt', 'mqtt://127.0.0.1:1']),
      ]);
      for (const run of runs) {
        expect(run.code).not.toBe(0);
        expect(oneErrorLine(run)).toBe(`error DYNASPLIT_ERR_FILE_NOT_FOUND: ${dir} is a directory, not an .onnx model file; give the file in it`);
      }
      // A directory where a file is to be written: refused before any work.
      const out = await dynasplit(['optimizer', 'search', '--pool', 'docs/results/testbed/pool-vgg16.csv', '--budget', '10', '--out', dir]);
      expect(out.code).toBe(2);
      expect(oneErrorLine(out)).toMatch(new RegExp(`^error DYNASPLIT_ERR_BAD_ARGS: --out ${dir} is a directory; give the path of a file to write`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses an unknown log format, from the flag or the environment', async () => {
    const [flag, env] = await Promise.all([
      dynasplit(['edge', '--log-format', 'xml']),
      dynasplit(['cloud'], { DYNASPLIT_LOG_FORMAT: 'yaml', DYNASPLIT_MQTT_URL: 'mqtt://127.0.0.1:1' }),
    ]);
    expect(flag.code).toBe(2);
    expect(oneErrorLine(flag)).toBe("error DYNASPLIT_ERR_BAD_ARGS: --log-format must be one of json, pretty; got 'xml'");
    expect(env.code).toBe(2);
    expect(oneErrorLine(env)).toBe("error DYNASPLIT_ERR_BAD_ARGS: --log-format must be one of json, pretty; got 'yaml'");
  });

  it('answers a misspelled zoo name with the zoo names and the one it resembles; gen --out creates a missing directory and says so', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'dynasplit-first-'));
    const out = join(scratch, 'new', 'dir');
    try {
      const [gen, inspect, created] = await Promise.all([
        dynasplit(['model', 'gen', 'vgg61', '--out', join(scratch, 'never')]),
        dynasplit(['model', 'inspect', 'vit-tny'], { DYNASPLIT_CACHE_DIR: join(scratch, 'cache') }),
        dynasplit(['model', 'gen', 'vgg16-tiny', '--out', out]),
      ]);
      const zoo = 'zoo models: vgg16, vgg16-64, vgg16-tiny, vit-b16, vit-tiny';
      expect(gen.code).toBe(1);
      expect(oneErrorLine(gen)).toBe(`error DYNASPLIT_ERR_UNKNOWN_MODEL: unknown zoo model 'vgg61' (did you mean 'vgg16'?); ${zoo}`);
      // A refused name creates nothing, not even the output directory.
      expect(existsSync(join(scratch, 'never'))).toBe(false);
      expect(inspect.code).toBe(1);
      expect(oneErrorLine(inspect)).toBe(
        `error DYNASPLIT_ERR_UNKNOWN_MODEL: unknown zoo model 'vit-tny' (did you mean 'vit-tiny'?); ${zoo}; or give the path of an .onnx file`);
      expect(created.code, created.stderr).toBe(0);
      expect(created.stderr.split('\n')[0]).toBe(`created directory ${out}`);
      expect(existsSync(join(out, 'vgg16-tiny.onnx')) && existsSync(join(out, 'vgg16-tiny.weights'))).toBe(true);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it('refuses an --out it cannot write before any work, naming the flag; creates a missing folder for an --out file and says so', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'dynasplit-first-'));
    const pool = join(ROOT, 'docs', 'results', 'testbed', 'pool-vit-b16.csv');
    const aFile = join(scratch, 'a-file');
    writeFileSync(aFile, 'not a folder');
    try {
      const [refused, proc, created] = await Promise.all([
        dynasplit(['optimizer', 'search', '--pool', pool, '--budget', '5', '--out', join(aFile, 'sample.csv')]),
        // Where mkdir fails under a parent that exists (Node's recursive mkdir loops on it for ever).
        dynasplit(['optimizer', 'search', '--pool', pool, '--budget', '5', '--out', '/proc/dynasplit-none/sample.csv']),
        dynasplit(['optimizer', 'search', '--pool', pool, '--budget', '5', '--out', join(scratch, 'new', 'sample.csv')]),
      ]);
      expect(refused.code).toBe(2);
      // One line: refused before the search ran (its progress would be on stderr too).
      expect(oneErrorLine(refused)).toBe(`error DYNASPLIT_ERR_BAD_ARGS: --out ${join(aFile, 'sample.csv')}: cannot write in ${aFile} (not a directory)`);
      expect(proc.code).toBe(2);
      expect(oneErrorLine(proc)).toMatch(/^error DYNASPLIT_ERR_BAD_ARGS: --out \/proc\/dynasplit-none\/sample\.csv: cannot write in \/proc\/dynasplit-none \(ENOENT/);
      expect(created.code, created.stderr).toBe(0);
      expect(created.stderr.split('\n')[0]).toBe(`created directory ${join(scratch, 'new')}`);
      expect(existsSync(join(scratch, 'new', 'sample.csv'))).toBe(true);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it("refuses an edge's agreement sample rate outside 0..1 and a memory budget that is no positive integer, before connecting", async () => {
    const broker = ['--mqtt', 'mqtt://127.0.0.1:1'];
    const [rate, budget] = await Promise.all([
      dynasplit(['edge', '--agreement-sample-rate', '2', ...broker]),
      dynasplit(['edge', '--memory-budget-mb', '0', ...broker]),
    ]);
    expect(rate.code).toBe(2);
    expect(oneErrorLine(rate)).toBe('error DYNASPLIT_ERR_BAD_ARGS: edge node: agreementSampleRate must be within 0..1');
    expect(budget.code).toBe(2);
    expect(oneErrorLine(budget)).toBe('error DYNASPLIT_ERR_BAD_ARGS: edge node: memoryBudgetMb must be a positive integer, got 0');
  });

  it("says what optimizer run's --model is, and offers --log-format wherever --log-level is", async () => {
    const run = await dynasplit(['optimizer', 'run', '--help']);
    expect(run.code).toBe(0);
    const model = run.stdout.split('\n').find((line) => line.includes('--model'))!;
    expect(model).toMatch(/model the edge nodes serve.*a zoo name, or NAME=path\/to\/model\.onnx/);
    expect(run.stdout).toMatch(/--log-format FORMAT +log lines as pretty \(readable\) or json/);
  });
});
