/**
 * The data path's goals (docs/performance.md, "Where the data path stands against its goals") held
 * against one run of the separate-process pipeline bench: each goal, this run's figure, and whether
 * the figure meets it. Pure: it reads a report and computes nothing that the report lacks.
 */
import { baselineRequestsPerSecond, type CaseReport, type ProcessesReport } from './pipeline-processes.ts';
import { printTable } from './harness.ts';

export interface GoalCheck {
  goal: string;
  /** This run's figure(s), as printed. */
  figure: string;
  /** null: this run did not measure it (VGG16 needs `--full`). */
  met: boolean | null;
}

const TINY = 'vgg16-tiny';
const VGG16 = 'vgg16';
const VGG16_CUTS = ['features.pool3', 'features.pool5'];
/** What a run without `--full` says of the VGG16 goals. */
const FULL_ONLY = 'not measured (--full)';

/** Every pipeline goal, in the issue's order, against `report`. */
export function pipelineGoals(report: ProcessesReport): GoalCheck[] {
  const warm = (model: string, cut: string, transport: string) =>
    report.cases.find((c) => c.model === model && c.cut === cut && c.transport === transport && c.warm);
  const checks: GoalCheck[] = [];
  for (const transport of ['nats', 'mqtt']) {
    const tiny = warm(TINY, 'features.pool3', transport);
    const ratio = tiny && throughputRatio(tiny, report);
    const goal = `${TINY} over ${transport}: throughput >= 0.4x in-process`;
    checks.push(ratio === undefined ? { goal, figure: 'not measured', met: null } : { goal, figure: `${ratio.toFixed(2)}x`, met: ratio >= 0.4 });
    checks.push(overheadCheck(`${TINY} over ${transport}`, tiny, 0.5, 2, 'not measured'));
  }
  for (const cut of VGG16_CUTS) {
    const nats = warm(VGG16, cut, 'nats');
    const mqtt = warm(VGG16, cut, 'mqtt');
    checks.push(overheadCheck(`${VGG16} ${cut} over nats`, nats, 3, 10, FULL_ONLY));
    const goal = `${VGG16} ${cut}: mqtt overhead within 1.5x of nats (p50, p95)`;
    if (!nats || !mqtt) checks.push({ goal, figure: FULL_ONLY, met: null });
    else {
      const p50 = mqtt.overheadP50Ms / nats.overheadP50Ms;
      const p95 = mqtt.overheadP95Ms / nats.overheadP95Ms;
      checks.push({ goal, figure: `${p50.toFixed(2)}x, ${p95.toFixed(2)}x`, met: p50 <= 1.5 && p95 <= 1.5 });
    }
  }
  return checks;
}

function throughputRatio(c: CaseReport, report: ProcessesReport): number | undefined {
  const baseline = baselineRequestsPerSecond(c, report);
  return c.requestsPerSecond === undefined || baseline === undefined ? undefined : c.requestsPerSecond / baseline;
}

function overheadCheck(what: string, c: CaseReport | undefined, p50Ms: number, p95Ms: number, missing: string): GoalCheck {
  const goal = `${what}: overhead p50 <= ${p50Ms} ms, p95 <= ${p95Ms} ms (warm nodes)`;
  if (!c) return { goal, figure: missing, met: null };
  // Beside it, the wire's own cost for the same bytes and hops (after idle pauses where the case has them).
  const floor = c.idleWireFloorMs ?? c.wireFloorMs;
  const figure = `${c.overheadP50Ms.toFixed(2)} ms, ${c.overheadP95Ms.toFixed(2)} ms${floor === undefined ? '' : ` (wire floor ${floor.toFixed(2)} ms)`}`;
  return { goal, figure, met: c.overheadP50Ms <= p50Ms && c.overheadP95Ms <= p95Ms };
}

export function printGoals(checks: GoalCheck[]): void {
  printTable('separate processes: the goals, against this run (measured)', ['goal', 'this run', 'met'],
    checks.map((c) => [c.goal, c.figure, c.met === null ? '-' : c.met ? 'yes' : 'no']));
}
