/** `dynasplit optimizer search`: an offline search on a measuring budget over a recorded pool (docs/optimizer.md). */
import { writeFileSync } from 'node:fs';
import { createProgress, DynasplitError, ErrorCodes } from '../common/index.ts';
import {
  aggregatePool, budgetCount, poolSpace, readPool, SEARCH_STRATEGIES, searchPool, writePool, type PoolRow, type PoolSearch, type SearchStrategy,
} from '../pareto/index.ts';
import { intOption, prepareOutFile, readTextFile, stringOption, type Command } from './command.ts';

export const searchCommand: Command = {
  path: ['optimizer', 'search'],
  summary: 'offline search on a measuring budget: which configurations of a pool to measure, and what the sample\'s front is worth',
  usage: '',
  positionals: { min: 0, max: 0 },
  options: {
    pool: { type: 'string', value: 'POOL', description: 'measurement pool CSV whose recorded runs stand in for measurements' },
    budget: { type: 'string', value: 'FRACTION|N', description: 'configurations to measure: a fraction of the space (0.2, 20%) or a count (50)' },
    strategy: { type: 'string', value: 'NAME', description: `search strategy: ${SEARCH_STRATEGIES.join(', ')}`, default: 'model' },
    seed: { type: 'string', value: 'S', description: 'seeds the search', default: '0' },
    model: { type: 'string', value: 'NAME', description: 'model whose runs to use (needed when the pool holds several)' },
    out: { type: 'string', value: 'SAMPLE.csv', description: 'pool CSV of the runs of the configurations measured (required)' },
    json: { type: 'boolean', description: 'print the summary as JSON on stdout' },
  },
  details: 'The space is the one the pool\'s knobs span; a configuration of it the pool lacks is unmeasurable: it spends budget,\n' +
    'as a failed testbed run does. Progress goes to stderr. Schedule from the sample, replaying outcomes from the pool:\n' +
    '  dynasplit eval simulate --pool POOL --front-from SAMPLE.csv --budgets weibull:2',
  async run(args, io) {
    const poolFile = stringOption(args, 'pool');
    if (!poolFile) throw new DynasplitError(ErrorCodes.BAD_ARGS, 'missing --pool POOL');
    const budgetSpec = stringOption(args, 'budget');
    if (!budgetSpec) throw new DynasplitError(ErrorCodes.BAD_ARGS, 'missing --budget FRACTION|N');
    const strategy = stringOption(args, 'strategy') ?? 'model';
    if (!(SEARCH_STRATEGIES as readonly string[]).includes(strategy)) {
      throw new DynasplitError(ErrorCodes.BAD_ARGS, `unknown --strategy '${strategy}'; strategies: ${SEARCH_STRATEGIES.join(', ')}`);
    }
    const out = stringOption(args, 'out');
    if (!out) throw new DynasplitError(ErrorCodes.BAD_ARGS, 'missing --out SAMPLE.csv');
    prepareOutFile(io, out);
    const rows = modelRows(readPool(readTextFile(poolFile)), stringOption(args, 'model'));
    const size = poolSpace(aggregatePool(rows)).space.size;
    const budget = budgetCount(budgetSpec, size);
    const progress = createProgress({ write: io.stderr, isTTY: io.isTTY }, `search (${strategy})`, budget);
    const result = searchPool(rows, {
      budget, strategy: strategy as SearchStrategy, seed: intOption(args, 'seed', 0),
      onProgress: (p) => progress.update(p.spent, `${p.unmeasurable} unmeasurable, front ${p.front}`),
    });
    progress.done();
    writeFileSync(out, writePool(result.sample));
    const summary = summaryOf(result, out, rows[0].model);
    io.stdout(args.values.json ? `${JSON.stringify(summary, null, 2)}\n` : summaryText(summary));
    return 0;
  },
};

function summaryOf(result: PoolSearch, out: string, model: string) {
  return {
    model, strategy: result.strategy, seed: result.seed, out,
    space: result.spaceSize, poolConfigurations: result.poolConfigurations, outsideSpace: result.outside,
    budget: result.budget,
    measured: result.trials.length - result.unmeasurable,
    unmeasurable: result.unmeasurable,
    front: result.front.length,
    exactFront: result.exactFront,
    hypervolumeRatio: result.hypervolumeRatio,
  };
}

function summaryText(s: ReturnType<typeof summaryOf>): string {
  return [
    `${s.model}: ${s.strategy} search (seed ${s.seed}) over a space of ${s.space} configurations, ${s.poolConfigurations} of them in the pool`,
    `budget ${s.budget}: measured ${s.measured}, unmeasurable ${s.unmeasurable} (not in the pool)`,
    `front of the sample: ${s.front} configuration${s.front === 1 ? '' : 's'}; exact front of the pool: ${s.exactFront}`,
    `hypervolume of the sample's front / the exact front's (normalized to the pool's range): ${s.hypervolumeRatio.toFixed(4)}`,
    `wrote the runs of the ${s.measured} measured configurations to ${s.out}`,
    ...(s.outsideSpace > 0 ? [`${s.outsideSpace} configuration(s) of the pool have no knob columns or repeat another's knobs: never measured`] : []),
    '',
  ].join('\n');
}

/** The rows of one model: the one named, else the pool's only model. */
function modelRows(rows: PoolRow[], model: string | undefined): PoolRow[] {
  if (rows.length === 0) throw new DynasplitError(ErrorCodes.BAD_ARGS, 'the pool holds no runs');
  return selectModel(rows, model);
}

/** The entries (runs or aggregates) of the model named, else of the pool's only model; several models and no name is an error. */
export function selectModel<T extends { model: string }>(entries: T[], model: string | undefined): T[] {
  const models = [...new Set(entries.map((e) => e.model))];
  if (model !== undefined) {
    if (!models.includes(model)) throw new DynasplitError(ErrorCodes.BAD_ARGS, `no runs of model '${model}' in the pool; models: ${models.join(', ')}`);
    return entries.filter((e) => e.model === model);
  }
  if (models.length > 1) throw new DynasplitError(ErrorCodes.BAD_ARGS, `the pool holds several models (${models.join(', ')}); choose one with --model`);
  return entries;
}
