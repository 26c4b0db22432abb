import { describe, expect, it } from 'vitest';
import { pipelineGoals } from '../../../bench/goals.ts';
import { baselineRequestsPerSecond, type CaseReport, type ProcessesReport } from '../../../bench/pipeline-processes.ts';

const stages = {} as CaseReport['stagesP50Ms'];

function tiny(transport: 'mqtt' | 'nats', o: Partial<CaseReport>): CaseReport {
  return {
    model: 'vgg16-tiny', cut: 'features.pool3', transport, requests: 200, computeP50Ms: 0.2, roundTripP50Ms: 1, overheadP50Ms: 0.8, overheadP95Ms: 1.5,
    frameBytes: 12_000, tensorBytes: 2_000, stagesP50Ms: stages, warm: true, ...o,
  };
}

function vgg16(cut: string, transport: 'mqtt' | 'nats', p50: number, p95: number, warm = true): CaseReport {
  return { ...tiny(transport, { model: 'vgg16', cut, overheadP50Ms: p50, overheadP95Ms: p95, warm }), requestsPerSecond: undefined };
}

function report(cases: CaseReport[]): ProcessesReport {
  return { machine: 'test', broker: 'dynasplit', natsServerEnv: {}, inProcess: { 'vgg16-tiny@features.pool3': { computeMs: 0.2, requestsPerSecond: 5000 } }, cases };
}

const byGoal = (checks: ReturnType<typeof pipelineGoals>, start: string) => checks.filter((c) => c.goal.startsWith(start));

describe('the pipeline goals held against a run', () => {
  it('holds throughput against the faster baseline around the run, and the first baseline without one', () => {
    const bracketed = tiny('nats', { requestsPerSecond: 2_000, bracketRequestsPerSecond: [4_000, 6_000] });
    const unbracketed = tiny('mqtt', { requestsPerSecond: 2_100 });
    const r = report([bracketed, unbracketed]);
    expect(baselineRequestsPerSecond(bracketed, r)).toBe(6_000);
    expect(baselineRequestsPerSecond(unbracketed, r)).toBe(5_000);
    const [nats, mqtt] = byGoal(pipelineGoals(r), 'vgg16-tiny over').filter((c) => c.goal.includes('throughput'));
    expect(nats).toEqual({ goal: 'vgg16-tiny over nats: throughput >= 0.4x in-process', figure: '0.33x', met: false });
    expect(mqtt).toMatchObject({ figure: '0.42x', met: true });
  });

  it('needs both the p50 and the p95 within their bounds, on warm nodes only', () => {
    const checks = pipelineGoals(report([
      tiny('nats', { overheadP50Ms: 0.45, overheadP95Ms: 1.9 }),
      tiny('mqtt', { overheadP50Ms: 0.45, overheadP95Ms: 2.1 }),
      vgg16('features.pool3', 'nats', 1, 2, false), // first requests after start: not what the goal holds
    ]));
    const overheads = checks.filter((c) => c.goal.includes('overhead p50'));
    expect(overheads[0]).toMatchObject({ goal: expect.stringContaining('vgg16-tiny over nats'), figure: '0.45 ms, 1.90 ms', met: true });
    expect(overheads[1]).toMatchObject({ goal: expect.stringContaining('vgg16-tiny over mqtt'), met: false });
    expect(byGoal(checks, 'vgg16 features.pool3 over nats')[0]).toMatchObject({ met: null, figure: 'not measured (--full)' });
  });

  it('shows the wire floor beside an overhead, the one after idle pauses where the case has it', () => {
    const checks = pipelineGoals(report([
      tiny('nats', { wireFloorMs: 0.31 }),
      vgg16('features.pool3', 'nats', 7, 9), vgg16('features.pool3', 'mqtt', 7, 9),
    ].map((c) => (c.model === 'vgg16' ? { ...c, wireFloorMs: 0.9, idleWireFloorMs: 2.5 } : c))));
    expect(byGoal(checks, 'vgg16-tiny over nats: overhead')[0].figure).toBe('0.80 ms, 1.50 ms (wire floor 0.31 ms)');
    expect(byGoal(checks, 'vgg16 features.pool3 over nats')[0].figure).toBe('7.00 ms, 9.00 ms (wire floor 2.50 ms)');
  });

  it('compares MQTT with NATS per cut at p50 and p95', () => {
    const checks = pipelineGoals(report([
      vgg16('features.pool3', 'nats', 2.5, 9), vgg16('features.pool3', 'mqtt', 3.5, 9),
      vgg16('features.pool5', 'nats', 4, 8), vgg16('features.pool5', 'mqtt', 4, 13),
    ]));
    expect(byGoal(checks, 'vgg16 features.pool3 over nats')[0]).toMatchObject({ met: true, figure: '2.50 ms, 9.00 ms' });
    expect(byGoal(checks, 'vgg16 features.pool5 over nats')[0]).toMatchObject({ met: false });
    expect(byGoal(checks, 'vgg16 features.pool3: mqtt')[0]).toMatchObject({ figure: '1.40x, 1.00x', met: true });
    expect(byGoal(checks, 'vgg16 features.pool5: mqtt')[0]).toMatchObject({ figure: '1.00x, 1.63x', met: false });
  });

  it('says what a run without the tiny cases did not measure', () => {
    const checks = pipelineGoals({ ...report([]), inProcess: {} });
    expect(checks.every((c) => c.met === null)).toBe(true);
    expect(checks).toHaveLength(8);
    expect(checks.filter((c) => c.goal.startsWith('vgg16-tiny')).map((c) => c.figure)).toEqual(['not measured', 'not measured', 'not measured', 'not measured']);
  });
});
