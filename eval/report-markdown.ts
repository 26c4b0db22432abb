/**
 * The evaluation report's Markdown, from the sections' summaries (claims.ts) and their plots as the
 * CLI rendered them (report-specs.ts gives the specs; docs/evaluation.md, "Report").
 */
import type { SectionSummary } from './claims.ts';
import type { ResultsMeta } from './results.ts';

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

/** A figure not known (NaN in a summary, null in a gap or claim) shows as n/a. */
const known = (x: number | null): x is number => x !== null && Number.isFinite(x);
const fixed = (x: number | null, digits: number) => (known(x) ? x.toFixed(digits) : 'n/a');
const pct = (x: number | null) => (known(x) ? `${(x * 100).toFixed(1)}%` : 'n/a');
const signed = (x: number | null, digits = 1) => (known(x) ? `${x >= 0 ? '+' : '-'}${Math.abs(x).toFixed(digits)}` : 'n/a');
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
