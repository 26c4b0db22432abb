/**
 * The README's deployment, executed as written: the README's block is deploy/quickstart.sh, and each
 * `npx dynasplit` line of it runs, in order, as its own OS process (through sh, with the script's
 * variables), against Mosquitto started from the kit's config (deploy/mosquitto/dynasplit.conf),
 * nats-server and InfluxDB 1.x whose database does not exist yet (the nodes create it). The edges and
 * the cloud run `--profile host`; the optimizer is given no profile. After its first policy, the
 * second sensor run must meet budgets and spend energy per inference no worse than the first, under
 * the default exploration policy, and no request may fail because of a policy.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { uniqueName } from '../helpers/metrics-contract.ts';
import { startInfluxDb, startMosquitto, startNatsServer, type RunningServer } from '../../local-servers/index.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const SCRIPT = readFileSync(join(ROOT, 'deploy', 'quickstart.sh'), 'utf8');

/** The fenced block of the README's "Running a deployment" section that starts with the script's first line. */
function readmeBlock(): string | undefined {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Running a deployment'));
  const match = /```sh\n([\s\S]*?)```/.exec(section);
  return match?.[1];
}

describe('README deployment', () => {
  it('shows deploy/quickstart.sh verbatim', () => {
    expect(readmeBlock()).toBe(SCRIPT);
  });
});

/** The script's settings (every line that is not a comment or a command) and its commands, in order. */
function parseScript(script: string): { prelude: string; commands: { line: string; background: boolean }[] } {
  const lines = script.split('\n').filter((l) => l.trim() && !l.startsWith('#'));
  const commands = lines.filter((l) => l.startsWith('npx dynasplit ')).map((l) => ({ line: l.replace(/\s*&\s*$/, ''), background: /&\s*$/.test(l) }));
  return { prelude: lines.filter((l) => !l.startsWith('npx dynasplit ')).join('\n'), commands };
}

/** Mosquitto's kit config for a test: its listeners and account files replaced by the test's (one port, anonymous). */
function kitMosquittoConfig(dir: string): string[] {
  const kit = readFileSync(join(ROOT, 'deploy', 'mosquitto', 'dynasplit.conf'), 'utf8').split('\n');
  const replaced = /^(listener|protocol|allow_anonymous|password_file|acl_file|persistence_location)\b/;
  return [...kit.filter((l) => l.trim() && !l.startsWith('#') && !replaced.test(l)), `persistence_location ${dir}/`, 'allow_anonymous true'];
}

interface Run { proc: ChildProcess; output: () => string; exited: Promise<number | null> }

const runs: Run[] = [];
let mosquitto: RunningServer;
let nats: RunningServer;
let influx: RunningServer;
let out: string;

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'dynasplit-quickstart-'));
  chmodSync(out, 0o777); // Mosquitto, started as root, drops to its own user and keeps its persistence here
  [nats, influx] = await Promise.all([startNatsServer(), startInfluxDb()]);
  mosquitto = await startMosquitto({ config: kitMosquittoConfig(out) });
});

afterAll(async () => {
  for (const r of runs) if (r.proc.exitCode === null) r.proc.kill('SIGTERM');
  await Promise.all(runs.map((r) => r.exited));
  await Promise.all([mosquitto?.stop(), nats?.stop(), influx?.stop()]);
  rmSync(out, { recursive: true, force: true });
});

function start(prelude: string, line: string, env: Record<string, string>): Run {
  // exec: the shell becomes npx, so a SIGTERM goes where the README's user would send it.
  const proc = spawn('sh', ['-c', `${prelude}\nexec ${line}`], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  proc.stdout!.on('data', (c: Buffer) => void (text += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => void (text += c.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('close', (code) => resolve(code)));
  const run = { proc, output: () => text, exited };
  runs.push(run);
  return run;
}

/** What a background command logs once it serves (the optimizer: once its first policy is out). */
const READY: [RegExp, RegExp][] = [
  [/^npx dynasplit cloud /, /cloud worker serving/],
  [/^npx dynasplit edge /, /edge node serving/],
  [/^npx dynasplit optimizer run /, /policy published/],
];

interface Summary {
  requests: number; results: number; errors: number; unanswered: number; errorsByCode: Record<string, number>;
  budgetMetRate: number; energy: { meanJ: number; source: string } | null; configurations: Record<string, number>;
}

/** Error codes a request gets when its policy asked for something the node cannot run. */
const POLICY_FAILURES = ['DYNASPLIT_ERR_BAD_ARGS', 'DYNASPLIT_ERR_BAD_POLICY', 'DYNASPLIT_ERR_UNKNOWN_CUT', 'DYNASPLIT_ERR_UNKNOWN_MODEL', 'DYNASPLIT_ERR_PROVIDER_UNAVAILABLE'];

it('runs as separate processes; after the optimizer\'s first policy, budgets and energy are no worse than exploring, and no request fails by policy', async () => {
  const { prelude, commands } = parseScript(SCRIPT);
  expect(commands.map((c) => c.line.split(' ').slice(0, 3).join(' '))).toEqual([
    'npx dynasplit cloud', 'npx dynasplit edge', 'npx dynasplit edge', 'npx dynasplit sensor', 'npx dynasplit optimizer', 'npx dynasplit sensor',
  ]);
  expect(commands.find((c) => c.line.startsWith('npx dynasplit optimizer'))!.line).not.toMatch(/--edge|--cloud|--profile/);
  const env = {
    MQTT: mosquitto.url, NATS: nats.url, INFLUX_URL: influx.url, INFLUX_DB: uniqueName('quickstart'), MODEL: 'vgg16-tiny', COUNT: '100', OUT: out,
    DYNASPLIT_LOG_FORMAT: 'json',
  };
  for (const { line, background } of commands) {
    const run = start(prelude, line, env);
    if (background) {
      const ready = READY.find(([command]) => command.test(line))![1];
      await vi.waitFor(() => {
        if (run.proc.exitCode !== null) throw new Error(`${line} exited:\n${run.output()}`);
        expect(run.output()).toMatch(ready);
      }, { timeout: 90_000, interval: 100 });
    } else {
      expect(await run.exited, `${line}:\n${run.output()}`).toBe(0);
    }
  }
  const explore = JSON.parse(readFileSync(join(out, 'explore.json'), 'utf8')) as Summary;
  const optimized = JSON.parse(readFileSync(join(out, 'optimized.json'), 'utf8')) as Summary;
  const detail = JSON.stringify({ explore, optimized });
  if (process.env.DYNASPLIT_TEST_REPORT) process.stderr.write(`quickstart: ${detail}\n`);
  for (const s of [explore, optimized]) expect(s.results + s.errors, detail).toBe(s.requests);
  for (const code of POLICY_FAILURES) expect(optimized.errorsByCode[code] ?? 0, `${code}: ${detail}`).toBe(0);
  // The optimized run answers with the policy's choices, not the default's rotation.
  expect(Object.keys(optimized.configurations).length, detail).toBeGreaterThan(0);
  // No worse: within 5 points of the budgets met and 5% of the energy (two runs of 100 requests).
  expect(optimized.budgetMetRate, detail).toBeGreaterThanOrEqual(explore.budgetMetRate - 0.05);
  expect(optimized.energy, detail).not.toBeNull();
  expect(optimized.energy!.meanJ, detail).toBeLessThanOrEqual(explore.energy!.meanJ * 1.05);
}, 300_000);
