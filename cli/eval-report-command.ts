/**
 * `dynasplit eval report`: results files (`eval simulate --json --records`, the testbed's) to a
 * Markdown report, plots and a JSON summary (docs/evaluation.md, "Report"). The figures, the text and
 * the plot specs come from eval/ (pure); this file reads, renders and writes.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { createProgress, DynasplitError, ErrorCodes } from '../common/index.ts';
import { parseResults, reportMarkdown, reportPlots, summarizeResults, type PlotPlan, type ReportFigure } from '../eval/index.ts';
import { prepareOutDir, readTextFile, stringOption, type Command, type CommandArgs, type Io } from './command.ts';
import { interruptedLine, INTERRUPTED_EXIT, onInterrupt } from './interrupt.ts';
import type { PlotFormat } from './plot-render.ts';

const FORMATS: readonly PlotFormat[] = ['svg', 'png'];
const DEFAULT_TITLE = 'DynaSplit evaluation';

export const reportCommand: Command = {
  path: ['eval', 'report'],
  summary: 'Markdown report, plots and a JSON summary from results files',
  usage: '',
  positionals: { min: 0, max: 0 },
  options: {
    input: { type: 'string', multiple: true, value: 'FILE', description: 'results JSON (eval simulate --json --records, or a testbed run); repeat for one section each' },
    out: { type: 'string', value: 'DIR', description: 'where report.md, summary.json and the plots go (created when missing)' },
    format: { type: 'string', value: 'svg|png', description: 'plot format', default: 'svg' },
    title: { type: 'string', value: 'T', description: 'the report\'s title', default: DEFAULT_TITLE },
  },
  details: 'Each input becomes a section: headline figures, the claims against the oracle and cloud-only, and plots of energy per\n' +
    'inference, latency against budget, budgets met, configuration mix, savings against cloud-only and the gap to the oracle.\n' +
    'Distributions need per-request records ("records"); "meta" says where the figures come from. Details: docs/evaluation.md.',
  async run(args, io) {
    const files = inputFiles(args);
    const out = stringOption(args, 'out');
    if (!out) throw new DynasplitError(ErrorCodes.BAD_ARGS, 'missing --out DIR');
    const format = stringOption(args, 'format') ?? 'svg';
    if (!(FORMATS as readonly string[]).includes(format)) throw new DynasplitError(ErrorCodes.BAD_ARGS, `--format must be one of ${FORMATS.join(', ')}, got '${format}'`);
    const inputs = files.map((file) => ({ file, results: parseResults(readTextFile(file), file) }));
    prepareOutDir(io, out);

    const names = sectionNames(files);
    const sections = inputs.map(({ file, results }, i) => {
      const summary = summarizeResults(results, { name: names[i], file });
      return { name: names[i], summary, plans: reportPlots(results, summary) };
    });
    const interrupt = onInterrupt(io);
    let rendered: ReportFigure[][] | undefined;
    try {
      rendered = await renderFigures(sections, out, format as PlotFormat, io, interrupt.signal);
    } finally {
      interrupt.dispose();
    }
    if (!rendered) {
      io.stderr(interruptedLine([]));
      return INTERRUPTED_EXIT;
    }
    const figures = rendered;
    const total = figures.flat().filter((f) => f.file).length;

    const title = stringOption(args, 'title') ?? DEFAULT_TITLE;
    writeOut(join(out, 'report.md'), reportMarkdown(title, sections.map((s, i) => ({ summary: s.summary, figures: figures[i] }))));
    const summary = {
      title,
      sections: sections.map((s, i) => ({
        ...s.summary,
        plots: s.plans.map((p, k) => ({ id: p.id, file: figures[i][k].file ?? null, omitted: p.omitted ?? null })),
      })),
    };
    writeOut(join(out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
    io.stdout(`wrote ${join(out, 'report.md')}, ${join(out, 'summary.json')} and ${total} ${format.toUpperCase()} plot${total === 1 ? '' : 's'}\n`);
    return 0;
  },
};

/**
 * Renders every plan with a spec to `DIR/<section>-<plot>.<format>`, with progress on stderr. Stopped
 * (Ctrl-C, between plots), it removes the plots it wrote and returns undefined: a folder with some
 * plots and no report.md would pass for an older report.
 */
async function renderFigures(
  sections: readonly { name: string; plans: PlotPlan[] }[], out: string, format: PlotFormat, io: Io, signal: AbortSignal,
): Promise<ReportFigure[][] | undefined> {
  const total = sections.flatMap((s) => s.plans).filter((p) => p.spec).length;
  const progress = createProgress({ write: io.stderr, isTTY: io.isTTY }, 'report: plots', total);
  // Loaded here, not at startup: Vega is large and only this command needs it.
  const { renderPlot } = await import('./plot-render.ts');
  let done = 0;
  const figures: ReportFigure[][] = [];
  for (const section of sections) {
    const list: ReportFigure[] = [];
    for (const plan of section.plans) {
      if (!plan.spec) {
        list.push({ title: plan.title, omitted: plan.omitted });
        continue;
      }
      const file = `${section.name}-${plan.id}.${format}`;
      const data = await renderPlot(plan.spec, format, (w) => io.stderr(`warning: ${file}: ${w}\n`));
      // Rendering resolves in microtasks only: back to the event loop once a plot, so a Ctrl-C is seen.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (signal.aborted) {
        for (const f of figures.flat().concat(list)) if (f.file) rmSync(join(out, f.file), { force: true });
        return undefined;
      }
      writeOut(join(out, file), data);
      list.push({ title: plan.title, file, caption: plan.caption });
      if (++done < total) progress.update(done);
    }
    figures.push(list);
  }
  progress.done();
  return figures;
}

function inputFiles(args: CommandArgs): string[] {
  const raw = args.values.input;
  const files = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).map(String);
  if (files.length === 0) throw new DynasplitError(ErrorCodes.BAD_ARGS, 'missing --input FILE (a results JSON; repeat for several)');
  return files;
}

/** One name per input, from its file name, safe in file names and unique: `vgg16`, `vgg16-2`. */
export function sectionNames(files: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return files.map((file) => {
    const stem = basename(file, extname(file)).replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '') || 'results';
    const n = (seen.get(stem) ?? 0) + 1;
    seen.set(stem, n);
    return n === 1 ? stem : `${stem}-${n}`;
  });
}

function writeOut(file: string, data: string | Buffer): void {
  try {
    writeFileSync(file, data);
  } catch (cause) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `cannot write ${file}: ${(cause as Error).message}`, { cause, details: { file } });
  }
}
