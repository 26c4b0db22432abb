/**
 * The report's plots as Vega-Lite specs: plain data in, a spec out, nothing rendered here (the CLI
 * compiles and renders them). Each plan is either a spec with its caption, or the sentence saying why
 * the plot is left out. Latency and energy plots carry their source as a subtitle, so an image taken
 * out of the report still says where its figures came from (docs/hardware.md, the honesty rule).
 */
import type { TopLevelSpec } from 'vega-lite';
import { CLAIM_THRESHOLDS, type SectionSummary } from './claims.ts';
import type { Results } from './results.ts';
import type { RequestOutcome } from './stats.ts';

export interface PlotPlan {
  /** Short name, used in file names: `energy`, `latency-budget`, ... */
  id: string;
  title: string;
  spec?: TopLevelSpec;
  caption?: string;
  /** Why there is no plot, when there is none. */
  omitted?: string;
}

/**
 * Points per strategy in the latency-against-budget scatter: enough to show the cloud and its misses in
 * a 200x170 panel, few enough for a small SVG (about 130 bytes a point).
 */
export const SCATTER_POINTS = 250;
/**
 * Largest over smallest positive value from which energy (and energy over the oracle's) is drawn on a
 * log scale: edge-only at 20x the others would flatten them into one line on a linear one.
 */
export const LOG_SCALE_FROM = 10;
/** Configurations named in the mix plot; the rest are `other`. */
export const MIX_TOP = 6;

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
/** Tableau 10, and grey for `other`. */
const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
const OTHER_COLOR = '#d3d3d3';
/**
 * A font stack rather than bare `sans-serif`, which resvg (PNG) maps to Arial and, without Arial, to
 * whatever face it finds first (often a serif). Names unquoted: resvg 2.6 skips quoted ones in a list.
 */
const FONT = 'Helvetica, Arial, Liberation Sans, DejaVu Sans, sans-serif';

export function reportPlots(results: Results, summary: SectionSummary): PlotPlan[] {
  return [energyPlot(results, summary), latencyPlot(results, summary), budgetsPlot(results, summary), mixPlot(results),
    savingsPlot(results, summary), oraclePlot(summary)];
}

/**
 * Title, font and limits shared by every plot. A subtitle of several parts takes a line each: Vega
 * sizes the plot to its estimate of the longest line's width, and one long line left a wide empty
 * strip beside the panels. Legend labels are configuration names that differ only at their end
 * (`...coral-usb:max` / `...coral-usb:std`), so they are not cut.
 */
const base = (title: string, subtitle?: string | string[]) => ({
  $schema: SCHEMA,
  title: { text: title, anchor: 'start' as const, ...(subtitle ? { subtitle, subtitleColor: '#555' } : {}) },
  background: 'white',
  config: { font: FONT, view: { stroke: null }, axis: { labelLimit: 240 }, legend: { labelLimit: 0 } },
});

/** Whether values spread over LOG_SCALE_FROM or more (all positive: a log scale has no zero). */
/** A log scale fitted to the data (not widened to whole decades, which left most of the panel empty), a little padding at both ends. */
const LOG_SCALE = { type: 'log' as const, nice: false, padding: 12 };

export function wideSpread(values: readonly number[]): boolean {
  const finite = values.filter(Number.isFinite);
  if (finite.length < 2 || finite.some((v) => v <= 0)) return false;
  return Math.max(...finite) / Math.min(...finite) >= LOG_SCALE_FROM;
}

const strategyAxis = (names: string[]) => ({ field: 'strategy', type: 'nominal' as const, sort: names, title: null, axis: { labelAngle: -30 } });

export function energyPlot(results: Results, s: SectionSummary): PlotPlan {
  const names = Object.keys(results.strategies);
  const title = 'Energy per inference';
  const means = names.filter((n) => Number.isFinite(results.strategies[n].meanEnergyJ)).map((n) => ({ strategy: n, energyJ: results.strategies[n].meanEnergyJ }));
  const records = results.records ?? {};
  const values = names.flatMap((n) => (records[n] ?? []).map((r) => ({ strategy: n, energyJ: r.energyJ })));
  const log = wideSpread([...means, ...values].map((v) => v.energyJ));
  const y = { field: 'energyJ', type: 'quantitative' as const, title: `energy per request (J${log ? ', log scale' : ''})`, ...(log ? { scale: LOG_SCALE } : {}) };
  const logNote = log ? ' The scale is logarithmic: the strategies differ by more than 10x.' : '';
  const diamond = { data: { values: means }, mark: { type: 'point' as const, shape: 'diamond', filled: true, color: 'black', size: 70 }, encoding: { x: strategyAxis(names), y } };
  // Each mean written beside its diamond (J, 3 significant digits): on a log scale values are hard to read off the axis.
  const meanText = { data: { values: means }, mark: { type: 'text' as const, align: 'left' as const, dx: 8, fontSize: 10 },
    encoding: { x: strategyAxis(names), y, text: { field: 'energyJ', type: 'quantitative' as const, format: '.3~g' } } };
  if (values.length === 0) {
    const spec = { ...base(title, `energy: ${s.provenance.energy}`), width: 40 * names.length + 120, height: 260, layer: [
      { data: { values: means }, mark: { type: 'bar' as const, color: PALETTE[0] }, encoding: { x: strategyAxis(names), y } },
      meanText,
    ] } as TopLevelSpec;
    return { id: 'energy', title, spec, caption: `Mean energy per request, per strategy (no per-request records in the input, so no distribution).${logNote} Energy: ${s.provenance.energy}.` };
  }
  const spec = { ...base(title, `energy: ${s.provenance.energy}`), width: 50 * names.length + 120, height: 280, layer: [
    { data: { values }, mark: { type: 'boxplot' as const, extent: 'min-max', size: 26, color: PALETTE[0] }, encoding: { x: strategyAxis(names), y } },
    diamond,
    meanText,
  ] } as TopLevelSpec;
  return {
    id: 'energy', title, spec,
    caption: 'Energy per request, per strategy: boxes span the quartiles of the recorded requests with the median inside, whiskers ' +
      `reach the least and the greatest; black diamonds are the means over all requests.${logNote} Energy: ${s.provenance.energy}.`,
  };
}

/** At most `max` of `list`, evenly spaced (the records are already a uniform sample in request order). */
export function thin<T>(list: readonly T[], max: number): T[] {
  if (list.length <= max) return [...list];
  return Array.from({ length: max }, (_, i) => list[Math.floor((i * list.length) / max)]);
}

export function latencyPlot(results: Results, s: SectionSummary): PlotPlan {
  const title = 'Latency against budget';
  const names = Object.keys(results.strategies);
  const records: Record<string, readonly RequestOutcome[]> = results.records ?? {};
  const shown = names.filter((n) => (records[n]?.length ?? 0) > 0);
  if (shown.length === 0) return { id: 'latency-budget', title, omitted: 'No per-request records in the input, so latency against budget is not plotted (`eval simulate --json --records` writes them).' };
  const values = shown.flatMap((n) => thin(records[n], SCATTER_POINTS).map((r) => ({ strategy: n, budgetMs: r.budgetMs, latencyMs: r.latencyMs, budget: r.met ? 'met' : 'missed' })));
  const thinned = shown.some((n) => records[n].length > SCATTER_POINTS);
  const x = { field: 'budgetMs', type: 'quantitative' as const, title: 'budget (ms)' };
  const spec = {
    ...base(title, `latency: ${s.provenance.latency}`),
    data: { values },
    columns: Math.min(4, shown.length),
    facet: { field: 'strategy', type: 'nominal', sort: shown, title: null },
    spec: {
      width: 200, height: 170,
      layer: [
        // No per-point aria-label: it was half of each point's bytes in the SVG.
        { mark: { type: 'point', filled: true, size: 10, opacity: 0.5, aria: false }, encoding: {
          x, y: { field: 'latencyMs', type: 'quantitative', title: 'latency (ms)' },
          color: { field: 'budget', type: 'nominal', scale: { domain: ['met', 'missed'], range: [PALETTE[0], PALETTE[2]] } },
        } },
        // y = x over each strategy's budgets: points above the line missed their budget.
        { transform: [
          { aggregate: [{ op: 'min', field: 'budgetMs', as: 'low' }, { op: 'max', field: 'budgetMs', as: 'high' }], groupby: ['strategy'] },
          { fold: ['low', 'high'], as: ['end', 'ms'] },
        ], mark: { type: 'line', color: '#333', strokeDash: [4, 3] }, encoding: { x: { ...x, field: 'ms' }, y: { field: 'ms', type: 'quantitative' } } },
      ],
    },
  } as TopLevelSpec;
  return {
    id: 'latency-budget', title, spec,
    caption: `Each point is a request: its latency against its budget; the dashed line is latency = budget, and points above it missed. ` +
      `${thinned ? `Up to ${SCATTER_POINTS.toLocaleString('en-US')} requests per strategy are drawn, evenly spaced among the records. ` : ''}Latency: ${s.provenance.latency}.`,
  };
}

export function budgetsPlot(results: Results, s: SectionSummary): PlotPlan {
  const title = 'Budgets met';
  const names = Object.keys(results.strategies);
  const values = names.filter((n) => Number.isFinite(results.strategies[n].budgetMetRate)).map((n) => ({ strategy: n, met: results.strategies[n].budgetMetRate }));
  const y = { field: 'met', type: 'quantitative' as const, title: 'budgets met', axis: { format: '%' }, scale: { domain: [0, 1] } };
  const spec = { ...base(title, `latency: ${s.provenance.latency}`), data: { values }, width: 40 * names.length + 120, height: 240, layer: [
    { mark: { type: 'bar', color: PALETTE[4] }, encoding: { x: strategyAxis(names), y } },
    { mark: { type: 'text', dy: -6, fontSize: 10 }, encoding: { x: strategyAxis(names), y, text: { field: 'met', type: 'quantitative', format: '.1%' } } },
  ] } as TopLevelSpec;
  return { id: 'budgets-met', title, spec, caption: `Share of requests whose latency was within their budget, per strategy. Latency: ${s.provenance.latency}.` };
}

/** Each strategy's share per configuration: the `top` configurations (by share, averaged over strategies) and `other`. */
export function configurationShares(results: Results, top = MIX_TOP): { strategy: string; configuration: string; share: number }[] {
  const names = Object.keys(results.strategies);
  const weight = new Map<string, number>();
  for (const n of names) {
    const { requests, configurations } = results.strategies[n];
    for (const [c, k] of Object.entries(configurations)) weight.set(c, (weight.get(c) ?? 0) + (requests > 0 ? k / requests : 0));
  }
  const kept = new Set([...weight.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, top).map(([c]) => c));
  return names.flatMap((n) => {
    const { requests, configurations } = results.strategies[n];
    if (requests === 0) return [];
    const rows = Object.entries(configurations).filter(([c]) => kept.has(c)).map(([c, k]) => ({ strategy: n, configuration: c, share: k / requests }));
    const other = Object.entries(configurations).filter(([c]) => !kept.has(c)).reduce((sum, [, k]) => sum + k, 0);
    return other > 0 ? [...rows, { strategy: n, configuration: 'other', share: other / requests }] : rows;
  });
}

export function mixPlot(results: Results): PlotPlan {
  const title = 'Configuration mix';
  const values = configurationShares(results);
  if (values.length === 0) return { id: 'configuration-mix', title, omitted: 'No strategy in the input lists its configurations, so the mix is not plotted.' };
  const names = Object.keys(results.strategies);
  const configs = [...new Set(values.map((v) => v.configuration).filter((c) => c !== 'other'))];
  const domain = values.some((v) => v.configuration === 'other') ? [...configs, 'other'] : configs;
  const range = domain.map((c, i) => (c === 'other' ? OTHER_COLOR : PALETTE[i % PALETTE.length]));
  const spec = { ...base(title), data: { values }, width: 420, height: 24 * names.length + 20,
    transform: [{ calculate: `indexof(${JSON.stringify(domain)}, datum.configuration)`, as: 'order' }],
    mark: 'bar',
    encoding: {
      y: { field: 'strategy', type: 'nominal', sort: names, title: null },
      x: { field: 'share', type: 'quantitative', stack: 'zero', title: 'share of requests', axis: { format: '%' }, scale: { domain: [0, 1] } },
      color: { field: 'configuration', type: 'nominal', scale: { domain, range }, legend: { orient: 'bottom', columns: 1, title: 'configuration' } },
      order: { field: 'order', type: 'quantitative' },
    },
  } as TopLevelSpec;
  return { id: 'configuration-mix', title, spec, caption: `Share of each strategy's requests per configuration: the ${MIX_TOP} most used (averaged over strategies), the rest as \`other\`.` };
}

export function savingsPlot(results: Results, s: SectionSummary): PlotPlan {
  const title = 'Energy saved against cloud-only';
  const names = Object.keys(results.strategies).filter((n) => results.strategies[n].savingsVsCloudOnly !== null);
  if (names.length === 0) {
    return { id: 'savings', title, omitted: 'No savings against cloud-only: the input gives none (the pool marks no `cloud-only` configuration, or its energy is 0).' };
  }
  const values = names.map((n) => ({ strategy: n, savings: results.strategies[n].savingsVsCloudOnly }));
  const spec = { ...base(title, `energy: ${s.provenance.energy}`), data: { values }, width: 40 * names.length + 120, height: 240, layer: [
    { mark: { type: 'bar', color: PALETTE[0] }, encoding: { x: strategyAxis(names), y: { field: 'savings', type: 'quantitative', title: 'saved against cloud-only', axis: { format: '%' } } } },
    { data: { values: [{ zero: 0 }] }, mark: { type: 'rule', color: '#333' }, encoding: { y: { field: 'zero', type: 'quantitative' } } },
  ] } as TopLevelSpec;
  return {
    id: 'savings', title, spec,
    caption: `1 - mean energy / the cloud-only configuration's mean energy over the same requests; below zero spends more than cloud-only. Energy: ${s.provenance.energy}.`,
  };
}

export function oraclePlot(s: SectionSummary): PlotPlan {
  const title = 'Gap to the oracle';
  const names = Object.keys(s.strategies).filter((n) => n !== 'oracle');
  if (!s.strategies.oracle) return { id: 'oracle-gap', title, omitted: 'No `oracle` strategy in the input, so the gap to it is not shown.' };
  if (names.length === 0) return { id: 'oracle-gap', title, omitted: 'Only the oracle is in the input: there is no gap to show.' };
  const values = names.map((n) => ({ strategy: n, ratio: s.strategies[n].gapToOracle!.energyRatio, points: s.strategies[n].gapToOracle!.budgetMetPoints }));
  const log = wideSpread([...values.flatMap((v) => (v.ratio === null ? [] : [v.ratio])), 1]);
  // Bars start at the oracle's mark (1x, 0 points), so each bar is the gap itself; every bar is labelled with its value.
  const panel = (field: string, axisTitle: string, at: number, threshold: number, format: string, scale?: object) => {
    const y = { field, type: 'quantitative' as const, title: axisTitle, ...(scale ? { scale } : {}) };
    return {
      width: 40 * names.length + 80, height: 220,
      layer: [
        { data: { values }, mark: { type: 'bar', color: PALETTE[6] }, encoding: { x: strategyAxis(names), y, y2: { datum: at } } },
        { data: { values }, mark: { type: 'text', dy: -6, fontSize: 10 }, encoding: { x: strategyAxis(names), y, text: { field, type: 'quantitative', format } } },
        { data: { values: [{ y: at }] }, mark: { type: 'rule', color: '#333' }, encoding: { y: { field: 'y', type: 'quantitative' } } },
        { data: { values: [{ y: threshold }] }, mark: { type: 'rule', color: PALETTE[2], strokeDash: [4, 3] }, encoding: { y: { field: 'y', type: 'quantitative' } } },
      ],
    };
  };
  const spec = { ...base(title, [`energy: ${s.provenance.energy}`, `latency: ${s.provenance.latency}`]), hconcat: [
    panel('ratio', `mean energy / oracle's${log ? ' (log scale)' : ''}`, 1, CLAIM_THRESHOLDS.energyRatioAtMost, '.2f', log ? LOG_SCALE : undefined),
    panel('points', 'budgets met − oracle\'s (points)', 0, CLAIM_THRESHOLDS.budgetMetPointsAtLeast, '.1f'),
  ] } as TopLevelSpec;
  return {
    id: 'oracle-gap', title, spec,
    caption: `Left: mean energy over the oracle's (1 = as little as the oracle${log ? '; log scale, the ratios differ by more than 10x' : ''}). Right: budgets met minus the oracle's, in percentage points; each bar is labelled with its value. ` +
      `Dashed red lines: the claims' thresholds (${CLAIM_THRESHOLDS.energyRatioAtMost}×, ${CLAIM_THRESHOLDS.budgetMetPointsAtLeast} points). ` +
      `Energy: ${s.provenance.energy}. Latency: ${s.provenance.latency}.`,
  };
}
