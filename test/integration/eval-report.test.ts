// `dynasplit eval simulate --json --records` then `dynasplit eval report`, as separate processes, on a
// hand-made pool whose every outcome is known.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { svgToPng } from '../../cli/index.ts';
import { poolRow, writePool } from '../../pareto/index.ts';
import { spawnDynasplit } from '../../local-servers/index.ts';
import { runCli } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'dynasplit-eval-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const at = (...p: string[]) => join(dir, ...p);

// One run per configuration, so each strategy's choice and outcome follow from the budget alone.
// Front (energy ascending): edge 1 J / 400 ms, split 1.5 J / 150 ms, cloud 2 J / 50 ms.
// Budgets 1000, 100, 200, 40 ms: dynasplit and the oracle both take edge, cloud, split, cloud (the
// last misses: nothing fits 40 ms, so the fastest). Mean energy 1.625 J, 3 of 4 budgets met, accuracy
// (0.97 + 1 + 0.99 + 1) / 4 = 0.99 against cloud-only's 1: exactly 1 point below.
const rows = [
  poolRow({ model: 'm', configuration: 'cloud', cut: 'input', latencyMs: 50, energyJ: 2, accuracy: 1, baseline: 'cloud-only', latencySource: 'measured', energySource: 'modelled' }),
  poolRow({ model: 'm', configuration: 'edge', cut: 'output', latencyMs: 400, energyJ: 1, accuracy: 0.97, baseline: 'edge-only', latencySource: 'measured', energySource: 'modelled' }),
  poolRow({ model: 'm', configuration: 'split', cut: 'x', latencyMs: 150, energyJ: 1.5, accuracy: 0.99, latencySource: 'measured', energySource: 'modelled' }),
];

/** A testbed-like results file: dynasplit 6% above the oracle's energy, 2.5 points fewer budgets, 0.5 accuracy points below cloud-only. */
const testbed = {
  meta: { source: 'testbed', model: 'vit-b16', sources: { latency: 'measured', energy: 'measured' } },
  strategies: Object.fromEntries(([['cloud-only', 2, 0.9, 0.99, 0], ['dynasplit', 1.06, 0.95, 0.985, 0.47], ['oracle', 1, 0.975, 0.97, 0.5]] as const)
    .map(([name, energy, met, accuracy, savings]) => [name, {
      requests: 200, meanEnergyJ: energy, medianEnergyJ: energy, budgetMetRate: met, meanLatencyMs: 120, p95LatencyMs: 300,
      meanAccuracy: accuracy, savingsVsCloudOnly: savings, configurations: { [`${name}-config`]: 150, other: 50 },
    }])),
};

async function dynasplit(...args: string[]): Promise<{ code: number | null; stdout: string; output: string }> {
  const p = spawnDynasplit(args);
  const code = await p.exited;
  return { code, stdout: p.stdout(), output: p.output() };
}

/** In-process run of the same entry point, for the error cases. */
const cli = (...argv: string[]) => runCli(argv);

let simulated: Record<string, unknown> & { records: Record<string, unknown[]>; meta: Record<string, unknown> };

beforeAll(async () => {
  writeFileSync(at('pool.csv'), writePool(rows));
  writeFileSync(at('budgets.txt'), '1000\n100\n200\n40\n');
  writeFileSync(at('testbed.json'), JSON.stringify(testbed));
  const sim = await dynasplit('eval', 'simulate', '--pool', at('pool.csv'), '--budgets', at('budgets.txt'), '--json', '--records');
  expect(sim.code, sim.output).toBe(0);
  writeFileSync(at('sim.json'), sim.stdout);
  simulated = JSON.parse(sim.stdout);
});

describe('eval simulate --records', () => {
  it('adds every request per strategy, whether they are a sample, and where the figures come from', () => {
    expect(Object.keys(simulated)).toEqual(['strategies', 'recordsSampled', 'meta', 'records']);
    expect(simulated.recordsSampled).toBe(false);
    expect(simulated.records.dynasplit).toEqual([
      { budgetMs: 1000, latencyMs: 400, energyJ: 1, accuracy: 0.97, configuration: 'edge', met: true },
      { budgetMs: 100, latencyMs: 50, energyJ: 2, accuracy: 1, configuration: 'cloud', met: true },
      { budgetMs: 200, latencyMs: 150, energyJ: 1.5, accuracy: 0.99, configuration: 'split', met: true },
      { budgetMs: 40, latencyMs: 50, energyJ: 2, accuracy: 1, configuration: 'cloud', met: false },
    ]);
    expect(simulated.meta).toEqual({
      source: 'simulated', pool: at('pool.csv'), model: 'm', seed: 1, budgets: at('budgets.txt'), requests: 4,
      sources: { latency: { measured: 3 }, energy: { modelled: 3 }, accuracy: { measured: 3 } },
    });
  });
});

describe('eval report', () => {
  let summary: { title: string; sections: { name: string; claims: Record<string, unknown>; strategies: Record<string, Record<string, unknown>>; plots: { id: string; file: string | null }[] }[] };
  let stderr = '';

  beforeAll(async () => {
    const r = await dynasplit('eval', 'report', '--input', at('sim.json'), '--input', at('testbed.json'), '--out', at('svg'), '--title', 'Hand-made');
    expect(r.code, r.output).toBe(0);
    stderr = r.output;
    summary = JSON.parse(readFileSync(at('svg', 'summary.json'), 'utf8'));
  });

  it('writes report.md, summary.json and one plot per kind and input, leaving out what an input cannot show', () => {
    const files = readdirSync(at('svg')).sort();
    expect(files).toEqual(['report.md', 'sim-budgets-met.svg', 'sim-configuration-mix.svg', 'sim-energy.svg', 'sim-latency-budget.svg', 'sim-oracle-gap.svg',
      'sim-savings.svg', 'summary.json', 'testbed-budgets-met.svg', 'testbed-configuration-mix.svg', 'testbed-energy.svg', 'testbed-oracle-gap.svg', 'testbed-savings.svg']);
    expect(summary.sections[1].plots.find((p) => p.id === 'latency-budget')).toEqual({ id: 'latency-budget', file: null, omitted: expect.stringContaining('No per-request records') });
    expect(stderr).toMatch(/report: plots \[#{20}\] 100% 11\/11/);
  });

  it('writes SVG that parses as XML and holds the plot\'s marks', () => {
    for (const file of readdirSync(at('svg')).filter((f) => f.endsWith('.svg'))) {
      const svg = readFileSync(at('svg', file), 'utf8');
      expect(() => new Resvg(svg), file).not.toThrow(); // resvg parses with a strict XML parser
      expect(svg, file).toMatch(/^<svg [^>]*class="marks"/);
      expect(svg, file).toMatch(/class="mark-\w+ role-mark/);
      expect(svg, file).toContain('role-title-text');
    }
    // 4 requests x 7 strategies in the scatter; each point a path in a symbol mark.
    const scatter = readFileSync(at('svg', 'sim-latency-budget.svg'), 'utf8');
    const symbols = [...scatter.matchAll(/<g class="mark-symbol role-mark[^"]*"[^>]*>(.*?)<\/g>/g)].map((m) => (m[1].match(/<path /g) ?? []).length);
    expect(symbols.reduce((a, b) => a + b, 0)).toBe(28);
    expect(readFileSync(at('svg', 'sim-energy.svg'), 'utf8')).toContain('simulated: drawn from a pool of 3 modelled runs');
  });

  it('computes the figures and the claims of the hand-made cases', () => {
    const [sim, bed] = summary.sections;
    expect(summary.title).toBe('Hand-made');
    expect(sim.strategies.dynasplit).toMatchObject({ requests: 4, meanEnergyJ: 1.625, budgetMetRate: 0.75, savingsVsCloudOnly: 0.1875, gapToOracle: { energyRatio: 1, budgetMetPoints: 0 } });
    expect(sim.strategies.dynasplit.accuracyVsCloudOnlyPoints).toBeCloseTo(-1, 9);
    // edge-only: 1 J and 400 ms every time, meeting only the 1000 ms budget: 25% against the oracle's 75%.
    expect(sim.strategies['edge-only'].gapToOracle).toEqual({ energyRatio: 1 / 1.625, budgetMetPoints: -50 });
    expect(sim.claims).toMatchObject({ energyWithin5PctOfOracle: true, budgetsWithin2PointsOfOracle: true, accuracyWithin1PointOfCloudOnly: true });
    expect(bed.claims).toMatchObject({ energyWithin5PctOfOracle: false, budgetsWithin2PointsOfOracle: false, accuracyWithin1PointOfCloudOnly: true });
    expect((bed.claims.numbers as { energyRatio: number }).energyRatio).toBeCloseTo(1.06, 12);
    expect((bed.claims.numbers as { budgetMetPoints: number }).budgetMetPoints).toBeCloseTo(-2.5, 12);
  });

  it('writes a section per input saying where its figures come from', () => {
    const md = readFileSync(at('svg', 'report.md'), 'utf8');
    // The title and one section per input, in input order.
    expect(md.split('\n').filter((l) => /^##? /.test(l))).toEqual([`# ${summary.title}`, ...summary.sections.map((s) => `## ${s.name}`)]);
    // Every plot summary.json lists is linked from the report, and nothing else is.
    const linked = [...md.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => m[1]).sort();
    expect(linked).toEqual(summary.sections.flatMap((s) => s.plots.map((p) => p.file).filter((f) => f !== null)).sort());
    // Each section says where its latency and energy come from: the sim's from pools of measured and
    // modelled runs, the testbed's measured.
    const [sim, bed] = md.split(/^## /m).slice(1);
    expect(sim).toMatch(/Latency: simulated\b.*\b3 measured runs/);
    expect(sim).toMatch(/Energy: simulated\b.*\b3 modelled runs/);
    expect(bed).toMatch(/Latency: testbed: measured/);
    expect(bed).toMatch(/Energy: testbed: measured/);
    // The claims' verdicts and numbers are summary.json's (checked above), not recomputed for the text.
    const ratio = (summary.sections[1].claims.numbers as { energyRatio: number }).energyRatio;
    expect(bed).toMatch(new RegExp(`Energy within 5% of the oracle: \\*\\*no\\*\\*.*${ratio.toFixed(3).replace('.', '\\.')}×`));
    expect(sim).toMatch(/Energy within 5% of the oracle: \*\*yes\*\*/);
  });
});

describe('eval report --format png', () => {
  it('writes valid PNG files', async () => {
    const r = await dynasplit('eval', 'report', '--input', at('sim.json'), '--out', at('png'), '--format', 'png');
    expect(r.code, r.output).toBe(0);
    const pngs = readdirSync(at('png')).filter((f) => f.endsWith('.png'));
    expect(pngs).toHaveLength(6);
    for (const file of pngs) {
      const bytes = readFileSync(at('png', file));
      expect(bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), file).toBe(true);
      const meta = await sharp(bytes).metadata();
      expect(meta.format).toBe('png');
      expect(meta.width).toBeGreaterThan(100);
      expect(meta.height).toBeGreaterThan(100);
    }
  });

  it('draws text: the system fonts are loaded', async () => {
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40"><rect width="120" height="40" fill="white"/>' +
      '<text x="5" y="28" font-family="Helvetica, Arial, Liberation Sans, DejaVu Sans, sans-serif" font-size="20">Joules</text></svg>';
    const { data } = await sharp(svgToPng(svg)).raw().toBuffer({ resolveWithObject: true });
    let dark = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i] < 128) dark++;
    expect(dark).toBeGreaterThan(50);
  });
});

describe('eval report errors', () => {
  it('names a missing or invalid input file and what is wrong with it', async () => {
    const missing = await cli('eval', 'report', '--input', at('nope.json'), '--out', at('x'));
    expect(missing.code).toBe(1);
    expect(missing.err).toContain(`error DYNASPLIT_ERR_FILE_NOT_FOUND: cannot read ${at('nope.json')}`);
    writeFileSync(at('broken.json'), '{"strategies": ');
    const broken = await cli('eval', 'report', '--input', at('broken.json'), '--out', at('x'));
    expect(broken.code).toBe(2);
    expect(broken.err).toContain(`error DYNASPLIT_ERR_BAD_ARGS: ${at('broken.json')}: not JSON`);
    writeFileSync(at('shape.json'), JSON.stringify({ strategies: { dynasplit: { requests: 3, meanEnergyJ: 'x' } } }));
    const shape = await cli('eval', 'report', '--input', at('shape.json'), '--out', at('x'));
    expect(shape.err).toContain(`${at('shape.json')}: strategies.dynasplit.meanEnergyJ must be a number or null`);
  });

  it('refuses an output folder that cannot be written, before rendering', async () => {
    writeFileSync(at('a-file'), '');
    const r = await cli('eval', 'report', '--input', at('testbed.json'), '--out', at('a-file', 'out'));
    expect(r.code).toBe(2);
    expect(r.err).toContain(`error DYNASPLIT_ERR_BAD_ARGS: --out ${at('a-file', 'out')}: cannot write there`);
  });

  it('asks for what is missing, refuses an unknown format, and shows help', async () => {
    expect((await cli('eval', 'report', '--out', at('x'))).err).toContain('missing --input FILE');
    expect((await cli('eval', 'report', '--input', at('testbed.json'))).err).toContain('missing --out DIR');
    expect((await cli('eval', 'report', '--input', at('testbed.json'), '--out', at('x'), '--format', 'gif')).err).toContain("--format must be one of svg, png, got 'gif'");
    const help = await cli('eval', 'report', '--help');
    expect(help.out).toMatch(/^usage: dynasplit eval report \[options\]/);
    expect(help.out).toContain('--input FILE');
    expect((await cli('eval', 'simulate', '--pool', at('pool.csv'), '--budgets', 'fixed:100', '--records')).err).toContain('--records goes with --json');
  });
});
