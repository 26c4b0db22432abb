/**
 * The evaluation report's pure core: a results file (`eval simulate --json --records`, or the testbed's
 * file of the same shape) checked and read, the figures derived from it (gap to the oracle, the
 * claims) and the report's Markdown. The plots are specs (report-specs.ts); rendering them and writing
 * files is the CLI's (docs/evaluation.md, "Report").
 *
 * Honesty rule (docs/hardware.md): every latency and energy figure says where it came from. A results
 * file says so in `meta.source` (simulated or testbed) and `meta.sources` (measured, emulated,
 * modelled, per figure); a file that says nothing is reported as of unstated origin.
 */
import { DynasplitError, ErrorCodes } from '../common/index.ts';

/** One strategy's figures, as `eval simulate --json` writes them; null where JSON holds no number (NaN). */
export interface StrategyFigures {
  requests: number;
  /** J per request */
  meanEnergyJ: number | null;
  medianEnergyJ: number | null;
  /** 0..1 */
  budgetMetRate: number | null;
  /** ms */
  meanLatencyMs: number | null;
  p95LatencyMs: number | null;
  /** 0..1 */
  meanAccuracy: number | null;
  savingsVsCloudOnly: number | null;
  /** Requests per configuration. */
  configurations: Record<string, number>;
}

/** One request as a strategy served it; ms, J, 0..1 (accuracy null when not known). */
export interface ResultRecord {
  budgetMs: number;
  latencyMs: number;
  energyJ: number;
  accuracy: number | null;
  configuration: string;
  met: boolean;
}

/** A figure's source: one word (`measured`) or runs per source (`{ "measured": 40, "modelled": 10 }`; '' = not recorded). */
export type SourceSpec = string | Record<string, number>;

export interface ResultsMeta {
  source?: 'simulated' | 'testbed';
  pool?: string;
  model?: string;
  seed?: number;
  budgets?: string;
  requests?: number;
  sources?: { latency?: SourceSpec; energy?: SourceSpec; accuracy?: SourceSpec };
  [other: string]: unknown;
}

export interface Results {
  strategies: Record<string, StrategyFigures>;
  records?: Record<string, ResultRecord[]>;
  recordsSampled?: boolean;
  meta?: ResultsMeta;
}

/** Thresholds of the claims DynaSplit's evaluation makes against the oracle and cloud-only. */
export const CLAIM_THRESHOLDS = {
  /** dynasplit's mean energy at most this multiple of the oracle's. */
  energyRatioAtMost: 1.05,
  /** dynasplit's budgets met at most 2 percentage points below the oracle's. */
  budgetMetPointsAtLeast: -2,
  /** dynasplit's mean accuracy at most 1 percentage point below cloud-only's. */
  accuracyPointsAtLeast: -1,
} as const;
/** Rounding slack in the comparisons: 0.97 - 0.99 is -0.020000000000000018, still "2 points". */
const SLACK = 1e-9;

export interface StrategySummary extends Omit<StrategyFigures, 'configurations'> {
  /** Against the strategy named `oracle`: mean energy ratio, and budgets met minus the oracle's in percentage points. */
  gapToOracle: { energyRatio: number | null; budgetMetPoints: number | null } | null;
  /** Mean accuracy minus cloud-only's, percentage points. */
  accuracyVsCloudOnlyPoints: number | null;
}

export interface Claims {
  strategy: 'dynasplit';
  /** null when a figure behind it is missing (no cloud-only, an oracle with zero energy). */
  energyWithin5PctOfOracle: boolean | null;
  budgetsWithin2PointsOfOracle: boolean | null;
  accuracyWithin1PointOfCloudOnly: boolean | null;
  numbers: {
    energyRatio: number | null;
    budgetMetPoints: number | null;
    accuracyVsCloudOnlyPoints: number | null;
    dynasplit: Pick<StrategyFigures, 'meanEnergyJ' | 'budgetMetRate' | 'meanAccuracy'>;
    oracle: Pick<StrategyFigures, 'meanEnergyJ' | 'budgetMetRate'>;
    cloudOnly: Pick<StrategyFigures, 'meanAccuracy'> | null;
  };
  thresholds: typeof CLAIM_THRESHOLDS;
}

/** Where each kind of figure came from, in words. */
export interface Provenance {
  latency: string;
  energy: string;
  accuracy: string;
}

export interface SectionSummary {
  name: string;
  file: string;
  meta: ResultsMeta | null;
  provenance: Provenance;
  /** Per-request records behind the distributions: per strategy, and whether they are a sample. */
  records: { perStrategy: Record<string, number>; sampled: boolean } | null;
  strategies: Record<string, StrategySummary>;
  claims: Claims | null;
}

// ---- reading a results file ----

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses and checks a results file; BAD_ARGS naming the file and the field at the first fault. */
export function parseResults(text: string, file: string): Results {
  const bad = (field: string, what: string, got?: unknown) => new DynasplitError(ErrorCodes.BAD_ARGS,
    `${file}: ${field} ${what}${got === undefined ? '' : `, got ${JSON.stringify(got)?.slice(0, 60)}`}`, { details: { file, field } });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `${file}: not JSON (${(cause as Error).message})`, { cause, details: { file } });
  }
  if (!isObject(json)) throw bad('the file', 'must be a JSON object { "strategies": { ... } }');
  if (!isObject(json.strategies)) throw bad('strategies', 'must be an object of strategy name -> figures', json.strategies);
  const names = Object.keys(json.strategies);
  if (names.length === 0) throw bad('strategies', 'holds no strategy');
  const results: Results = { strategies: Object.fromEntries(names.map((n) => [n, readFigures((json as { strategies: Record<string, unknown> }).strategies[n], `strategies.${n}`, bad)])) };
  if (json.records !== undefined) results.records = readRecords(json.records, names, bad);
  if (json.recordsSampled !== undefined) {
    if (typeof json.recordsSampled !== 'boolean') throw bad('recordsSampled', 'must be true or false', json.recordsSampled);
    results.recordsSampled = json.recordsSampled;
  }
  if (json.meta !== undefined) results.meta = readMeta(json.meta, bad);
  return results;
}

type Bad = (field: string, what: string, got?: unknown) => DynasplitError;

function readFigures(v: unknown, at: string, bad: Bad): StrategyFigures {
  if (!isObject(v)) throw bad(at, 'must be an object of figures', v);
  const figure = (key: string, required: boolean): number | null => {
    const x = v[key];
    if (x === null || (x === undefined && !required)) return null;
    if (typeof x !== 'number' || !Number.isFinite(x)) throw bad(`${at}.${key}`, required ? 'must be a number or null' : 'must be a number, null or absent', x);
    return x;
  };
  const requests = v.requests;
  if (typeof requests !== 'number' || !Number.isInteger(requests) || requests < 0) throw bad(`${at}.requests`, 'must be a non-negative integer', requests);
  const configurations = v.configurations ?? {};
  if (!isObject(configurations) || Object.values(configurations).some((n) => typeof n !== 'number' || !(n >= 0))) {
    throw bad(`${at}.configurations`, 'must map configuration names to request counts', configurations);
  }
  return {
    requests, meanEnergyJ: figure('meanEnergyJ', true), medianEnergyJ: figure('medianEnergyJ', false), budgetMetRate: figure('budgetMetRate', true),
    meanLatencyMs: figure('meanLatencyMs', false), p95LatencyMs: figure('p95LatencyMs', false), meanAccuracy: figure('meanAccuracy', false),
    savingsVsCloudOnly: figure('savingsVsCloudOnly', false), configurations: configurations as Record<string, number>,
  };
}

function readRecords(v: unknown, names: string[], bad: Bad): Record<string, ResultRecord[]> {
  if (!isObject(v)) throw bad('records', 'must be an object of strategy name -> list of requests', v);
  const out: Record<string, ResultRecord[]> = {};
  for (const [name, list] of Object.entries(v)) {
    if (!names.includes(name)) throw bad(`records.${name}`, `names no strategy in strategies (${names.join(', ')})`);
    if (!Array.isArray(list)) throw bad(`records.${name}`, 'must be a list', list);
    out[name] = list.map((r, i) => readRecord(r, `records.${name}[${i}]`, bad));
  }
  return out;
}

function readRecord(r: unknown, at: string, bad: Bad): ResultRecord {
  if (!isObject(r)) throw bad(at, 'must be an object', r);
  for (const key of ['budgetMs', 'latencyMs', 'energyJ']) {
    if (typeof r[key] !== 'number' || !Number.isFinite(r[key])) throw bad(`${at}.${key}`, 'must be a number', r[key]);
  }
  const accuracy = r.accuracy ?? null;
  if (accuracy !== null && (typeof accuracy !== 'number' || !Number.isFinite(accuracy))) throw bad(`${at}.accuracy`, 'must be a number or null', accuracy);
  if (typeof r.configuration !== 'string') throw bad(`${at}.configuration`, 'must be a string', r.configuration);
  const budgetMs = r.budgetMs as number;
  const latencyMs = r.latencyMs as number;
  if (r.met !== undefined && typeof r.met !== 'boolean') throw bad(`${at}.met`, 'must be true or false', r.met);
  return { budgetMs, latencyMs, energyJ: r.energyJ as number, accuracy, configuration: r.configuration, met: (r.met as boolean | undefined) ?? latencyMs <= budgetMs };
}

function readMeta(v: unknown, bad: Bad): ResultsMeta {
  if (!isObject(v)) throw bad('meta', 'must be an object', v);
  if (v.source !== undefined && v.source !== 'simulated' && v.source !== 'testbed') throw bad('meta.source', "must be 'simulated' or 'testbed'", v.source);
  if (v.sources === undefined) return v as ResultsMeta;
  if (!isObject(v.sources)) throw bad('meta.sources', 'must be an object { latency, energy, accuracy }', v.sources);
  for (const [key, spec] of Object.entries(v.sources)) {
    const ok = typeof spec === 'string' || (isObject(spec) && Object.values(spec).every((n) => typeof n === 'number' && n >= 0));
    if (!ok) throw bad(`meta.sources.${key}`, "must be a source ('measured', 'emulated', 'modelled') or runs per source", spec);
  }
  return v as ResultsMeta;
}

// ---- figures ----

const points = (a: number | null, b: number | null) => (a === null || b === null ? null : (a - b) * 100);

/** The headline figures per strategy, the gaps to the oracle and cloud-only, and the claims. */
export function summarize(results: Results, at: { name: string; file: string }): SectionSummary {
  const { strategies } = results;
  const oracle = strategies.oracle;
  const cloud = strategies['cloud-only'];
  const summaries = Object.fromEntries(Object.entries(strategies).map(([name, f]) => {
    const { configurations: _mix, ...figures } = f;
    const energyRatio = oracle && f.meanEnergyJ !== null && oracle.meanEnergyJ !== null && oracle.meanEnergyJ > 0 ? f.meanEnergyJ / oracle.meanEnergyJ : null;
    const summary: StrategySummary = {
      ...figures,
      gapToOracle: oracle ? { energyRatio, budgetMetPoints: points(f.budgetMetRate, oracle.budgetMetRate) } : null,
      accuracyVsCloudOnlyPoints: cloud ? points(f.meanAccuracy, cloud.meanAccuracy) : null,
    };
    return [name, summary];
  }));
  const records = results.records
    ? { perStrategy: Object.fromEntries(Object.entries(results.records).map(([n, r]) => [n, r.length])), sampled: results.recordsSampled ?? false }
    : null;
  return {
    name: at.name, file: at.file, meta: results.meta ?? null, provenance: provenance(results.meta), records,
    strategies: summaries, claims: claims(results.strategies, summaries),
  };
}

function claims(figures: Record<string, StrategyFigures>, summaries: Record<string, StrategySummary>): Claims | null {
  const d = figures.dynasplit;
  const o = figures.oracle;
  if (!d || !o) return null;
  const c = figures['cloud-only'];
  const { energyRatio, budgetMetPoints } = summaries.dynasplit.gapToOracle!;
  const accuracyPoints = summaries.dynasplit.accuracyVsCloudOnlyPoints;
  const t = CLAIM_THRESHOLDS;
  const decide = (x: number | null, ok: (x: number) => boolean) => (x === null ? null : ok(x));
  return {
    strategy: 'dynasplit',
    energyWithin5PctOfOracle: decide(energyRatio, (r) => r <= t.energyRatioAtMost + SLACK),
    budgetsWithin2PointsOfOracle: decide(budgetMetPoints, (p) => p >= t.budgetMetPointsAtLeast - SLACK),
    accuracyWithin1PointOfCloudOnly: decide(accuracyPoints, (p) => p >= t.accuracyPointsAtLeast - SLACK),
    numbers: {
      energyRatio, budgetMetPoints, accuracyVsCloudOnlyPoints: accuracyPoints,
      dynasplit: { meanEnergyJ: d.meanEnergyJ, budgetMetRate: d.budgetMetRate, meanAccuracy: d.meanAccuracy },
      oracle: { meanEnergyJ: o.meanEnergyJ, budgetMetRate: o.budgetMetRate },
      cloudOnly: c ? { meanAccuracy: c.meanAccuracy } : null,
    },
    thresholds: CLAIM_THRESHOLDS,
  };
}

// ---- provenance ----

/** "40 measured and 10 modelled runs", "measured"; '' is a run that recorded no source. */
export function describeSources(spec: SourceSpec, unit = 'runs'): string {
  const word = (s: string) => (s === '' ? 'of unrecorded source' : s);
  if (typeof spec === 'string') return word(spec);
  const parts = Object.entries(spec).filter(([, n]) => n > 0).map(([s, n]) => `${n.toLocaleString('en-US')} ${word(s)}`);
  if (parts.length === 0) return `no ${unit}`;
  return `${parts.length > 1 ? `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}` : parts[0]} ${unit}`;
}

export function provenance(meta: ResultsMeta | undefined): Provenance {
  const one = (spec: SourceSpec | undefined): string => {
    if (meta?.source === 'simulated') {
      return spec === undefined ? 'simulated from a measurement pool whose runs state no source' : `simulated: drawn from a pool of ${describeSources(spec)}`;
    }
    if (meta?.source === 'testbed') return spec === undefined ? 'from the testbed, source not stated' : `testbed: ${describeSources(spec, 'requests')}`;
    return spec === undefined ? 'of unstated origin (the input gives no meta.source or meta.sources)' : describeSources(spec);
  };
  const s = meta?.sources;
  return { latency: one(s?.latency), energy: one(s?.energy), accuracy: one(s?.accuracy) };
}

// ---- Markdown ----

/** A plot as the report shows it: a rendered file with its caption, or the sentence that says why it is left out. */
export interface ReportFigure {
  title: string;
  file?: string;
  caption?: string;
  omitted?: string;
}

export interface ReportSection {
  summary: SectionSummary;
  figures: ReportFigure[];
}

const fixed = (x: number | null, digits: number) => (x === null ? 'n/a' : x.toFixed(digits));
const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(1)}%`);
const signed = (x: number | null, digits = 1) => (x === null ? 'n/a' : `${x >= 0 ? '+' : '-'}${Math.abs(x).toFixed(digits)}`);
const count = (n: number) => n.toLocaleString('en-US');

export function reportMarkdown(title: string, sections: readonly ReportSection[]): string {
  const lines = [
    `# ${title}`,
    '',
    `From ${sections.length} results file${sections.length === 1 ? '' : 's'} (\`dynasplit eval report\`). A budget is met when the request's ` +
      'latency is at most its budget. "Energy / oracle" is the mean energy over the oracle\'s; "met vs oracle" and "vs cloud-only" ' +
      'are differences in percentage points. Each section says where its latency, energy and accuracy figures come from.',
    '',
  ];
  for (const section of sections) lines.push(...sectionMarkdown(section));
  return `${lines.join('\n').trimEnd()}\n`;
}

function sectionMarkdown({ summary: s, figures }: ReportSection): string[] {
  const p = s.provenance;
  return [
    `## ${s.name}`,
    '',
    `Input: \`${s.file}\`.${s.meta ? ` ${metaLine(s.meta)}` : ''}`,
    '',
    `**Where the figures come from.** Latency: ${p.latency}. Energy: ${p.energy}. Accuracy: ${p.accuracy}.`,
    '',
    recordsLine(s),
    '',
    '### Figures',
    '',
    `Energy in J per request (${p.energy}); latency in ms (${p.latency}).`,
    '',
    ...figuresTable(s),
    '',
    '### Claims',
    '',
    ...claimsLines(s),
    '',
    ...figures.flatMap((f) => [`### ${f.title}`, '', ...(f.file ? [`![${f.title}](${f.file})`, '', f.caption ?? ''] : [f.omitted ?? '']), '']),
  ];
}

function metaLine(m: ResultsMeta): string {
  const what = m.source === 'simulated' ? 'Simulated' : m.source === 'testbed' ? 'Testbed run' : 'Run';
  const parts = [
    m.requests !== undefined ? `${count(m.requests)} requests` : '',
    m.model ? `model ${m.model}` : '',
    m.pool ? `pool \`${m.pool}\`` : '',
    m.budgets ? `budgets \`${m.budgets}\`` : '',
    m.seed !== undefined ? `seed ${m.seed}` : '',
  ].filter(Boolean);
  return `${what}${parts.length ? `: ${parts.join(', ')}` : ''}.`;
}

function recordsLine(s: SectionSummary): string {
  if (!s.records) return 'The input holds no per-request records: energy is shown as means, and latency against budget is not plotted.';
  const counts = [...new Set(Object.values(s.records.perStrategy))];
  const per = counts.length === 1 ? `${count(counts[0])} requests per strategy` : 'per strategy the requests listed in the input';
  return s.records.sampled
    ? `Distributions come from ${per}: a uniform sample of the requests, the same requests for every strategy; the table's figures are over all requests.`
    : `Distributions come from ${per}: every request.`;
}

function figuresTable(s: SectionSummary): string[] {
  const header = ['strategy', 'requests', 'mean J', 'median J', 'budgets met', 'mean ms', 'p95 ms', 'accuracy', 'saved vs cloud-only', 'energy / oracle', 'met vs oracle (points)', 'accuracy vs cloud-only (points)'];
  const rows = Object.entries(s.strategies).map(([name, r]) => [
    name, count(r.requests), fixed(r.meanEnergyJ, 4), fixed(r.medianEnergyJ, 4), pct(r.budgetMetRate), fixed(r.meanLatencyMs, 1), fixed(r.p95LatencyMs, 1),
    fixed(r.meanAccuracy, 4), pct(r.savingsVsCloudOnly), r.gapToOracle ? fixed(r.gapToOracle.energyRatio, 3) : 'n/a',
    r.gapToOracle ? signed(r.gapToOracle.budgetMetPoints) : 'n/a', signed(r.accuracyVsCloudOnlyPoints, 2),
  ]);
  return [header, header.map((_, i) => (i === 0 ? '---' : '---:')), ...rows].map((cells) => `| ${cells.join(' | ')} |`);
}

function claimsLines(s: SectionSummary): string[] {
  const c = s.claims;
  if (!c) return ['No claims: they compare `dynasplit` with `oracle` (and `cloud-only`), and this input lacks one of the two.'];
  const verdict = (ok: boolean | null) => (ok === null ? '**undecided**' : ok ? '**yes**' : '**no**');
  const n = c.numbers;
  const t = c.thresholds;
  return [
    `- Energy within 5% of the oracle: ${verdict(c.energyWithin5PctOfOracle)}: dynasplit's mean energy is ${fixed(n.energyRatio, 3)}× the oracle's ` +
      `(${fixed(n.dynasplit.meanEnergyJ, 4)} J against ${fixed(n.oracle.meanEnergyJ, 4)} J; at most ${t.energyRatioAtMost}×). Energy: ${s.provenance.energy}.`,
    `- Budgets met within 2 points of the oracle: ${verdict(c.budgetsWithin2PointsOfOracle)}: ${pct(n.dynasplit.budgetMetRate)} against ` +
      `${pct(n.oracle.budgetMetRate)} (${signed(n.budgetMetPoints)} points; at least ${t.budgetMetPointsAtLeast}). Latency: ${s.provenance.latency}.`,
    n.cloudOnly
      ? `- Accuracy within 1 point of cloud-only: ${verdict(c.accuracyWithin1PointOfCloudOnly)}: ${fixed(n.dynasplit.meanAccuracy, 4)} against ` +
        `${fixed(n.cloudOnly.meanAccuracy, 4)} (${signed(n.accuracyVsCloudOnlyPoints, 2)} points; at least ${t.accuracyPointsAtLeast}). Accuracy: ${s.provenance.accuracy}.`
      : '- Accuracy within 1 point of cloud-only: **undecided**: the input has no `cloud-only` strategy.',
  ];
}
