/**
 * The MetricsStore contract (metrics/metrics-store.ts) as a suite that every implementation runs:
 * test/unit/metrics/embedded-store.test.ts, test/integration/influx-store.test.ts (real InfluxDB).
 * Each test writes seeded points under its own model and edge names, then checks the store's
 * aggregates against a naive reference computed here and against an embedded store given the same
 * points: counts and percentiles exactly, means within 1e-9 relative.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it, onTestFinished } from 'vitest';
import { EmbeddedMetricsStore, type ConfigStats, type LinkMetric, type LinkStats, type MetricsStore, type RequestMetric } from '../../metrics/index.ts';
import { seededRandom, type Random } from './random.ts';

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

const CONFIGS = ['edge-only@1800MHz', 'split:features.pool3@fp16', 'cloud-only@gpu'];
const SOURCES = { 'edge-only@1800MHz': ['measured'], 'split:features.pool3@fp16': ['measured', 'modelled'], 'cloud-only@gpu': ['modelled'] } as const;

/** A successful request; `over` replaces any field. */
export function requestMetric(over: Partial<RequestMetric> = {}): RequestMetric {
  return {
    timeMs: Date.now(), model: 'vgg16', configuration: CONFIGS[0]!, cut: '', codec: 'fp32', edgeId: 'edge-1', edgeClass: 'rpi4',
    workerId: '', sensorId: 'cam-1', errorCode: '', latencySource: 'measured', energySource: 'modelled',
    endToEndMs: 100, edgeComputeMs: 80, encodeMs: 0, transferMs: 0, cloudQueueMs: 0, cloudComputeMs: 0,
    budgetMs: 150, budgetMet: true, edgeFallback: false, tensorBytes: 0, energyJ: 1.5, edgeEnergyJ: 1.5, cloudEnergyJ: 0,
    frequencyMhz: 1800, threads: 4, accelerator: 'cpu', cloudMode: '', ...over,
  };
}

/** `count` varied requests of `model` at distinct ms in [startMs, startMs + spanMs): three configurations, two edge classes, ~10% errors. */
export function seededRequests(random: Random, model: string, count: number, startMs: number, spanMs = 60_000): RequestMetric[] {
  const times = new Set<number>();
  while (times.size < count) times.add(startMs + Math.floor(random() * spanMs));
  return [...times].sort((a, b) => a - b).map((timeMs, i) => {
    const configuration = CONFIGS[Math.floor(random() * CONFIGS.length)]!;
    const sources = SOURCES[configuration as keyof typeof SOURCES];
    const split = configuration.startsWith('split');
    const endToEndMs = Math.round((40 + random() * 200) * 10) / 10; // 0.1 ms steps: some ties
    const budgetMs = 80 + Math.floor(random() * 4) * 40;
    return requestMetric({
      timeMs, model, configuration, cut: split ? 'features.pool3' : '', codec: split ? 'fp16' : 'fp32',
      edgeId: `edge-${i % 3}`, edgeClass: i % 4 === 0 ? 'jetson' : 'rpi4', workerId: split || configuration.startsWith('cloud') ? `worker-${i % 2}` : '',
      errorCode: random() < 0.1 ? 'DYNASPLIT_ERR_TIMEOUT' : '', energySource: sources[i % sources.length]!,
      endToEndMs, budgetMs, budgetMet: endToEndMs <= budgetMs, edgeFallback: random() < 0.05,
      tensorBytes: split ? 401_408 : configuration.startsWith('cloud') ? 602_112 : 0,
      energyJ: 0.5 + random() * 3, edgeEnergyJ: random(), cloudEnergyJ: random(), transferMs: split ? random() * 20 : 0,
      cloudMode: split ? 'gpu' : '', ...(i % 5 === 0 ? { top1Agreement: random() < 0.9 ? 1 : 0 } : {}),
    });
  });
}

export function seededLinks(random: Random, edgeIds: string[], count: number, startMs: number, spanMs = 60_000): LinkMetric[] {
  return Array.from({ length: count }, (_, i) => ({
    timeMs: startMs + Math.floor((i * spanMs) / count), edgeId: edgeIds[i % edgeIds.length]!,
    bytes: 100_000 + Math.floor(random() * 500_000), transferMs: 1 + random() * 40, rttMs: Math.round(random() * 20_000) / 1000,
  }));
}

/** The reference: the obvious computation, with InfluxQL's PERCENTILE index written out as in its Go source. */
function referenceConfigStats(requests: RequestMetric[]): ConfigStats[] {
  const pct = (sorted: number[], p: number) => sorted[Math.floor((sorted.length * p) / 100 + 0.5) - 1]!;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return [...new Set(requests.map((r) => r.configuration))].sort().map((configuration) => {
    const rs = requests.filter((r) => r.configuration === configuration);
    const latencies = rs.map((r) => r.endToEndMs).sort((a, b) => a - b);
    const agreements = rs.flatMap((r) => (r.top1Agreement === undefined ? [] : [r.top1Agreement]));
    const sources = [...new Set(rs.map((r) => r.energySource))].sort();
    return {
      configuration, count: rs.length, latencyP50Ms: pct(latencies, 50), latencyP95Ms: pct(latencies, 95),
      meanEnergyJ: mean(rs.map((r) => r.energyJ)), budgetMetRate: rs.filter((r) => r.budgetMet).length / rs.length,
      energySource: sources.join('+'), ...(agreements.length ? { agreement: mean(agreements) } : {}),
    };
  });
}

function expectClose(actual: number, expected: number, what: string): void {
  const scale = Math.max(Math.abs(expected), Number.MIN_VALUE);
  expect(Math.abs(actual - expected) / scale, `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(1e-9);
}

/** Exact on counts, percentiles and labels; 1e-9 relative on means. */
export function expectSameConfigStats(actual: ConfigStats[], expected: ConfigStats[]): void {
  expect(actual.map((s) => s.configuration)).toEqual(expected.map((s) => s.configuration));
  actual.forEach((a, i) => {
    const e = expected[i]!;
    expect({ ...a, meanEnergyJ: 0, budgetMetRate: 0, agreement: a.agreement !== undefined })
      .toEqual({ ...e, meanEnergyJ: 0, budgetMetRate: 0, agreement: e.agreement !== undefined });
    expectClose(a.meanEnergyJ, e.meanEnergyJ, `${e.configuration} meanEnergyJ`);
    expectClose(a.budgetMetRate, e.budgetMetRate, `${e.configuration} budgetMetRate`);
    if (e.agreement !== undefined) expectClose(a.agreement!, e.agreement, `${e.configuration} agreement`);
  });
}

export function expectSameLinkStats(actual: LinkStats, expected: LinkStats): void {
  expect(actual.samples).toBe(expected.samples);
  expect(actual.rttMs).toBe(expected.rttMs);
  expectClose(actual.bandwidthMbps, expected.bandwidthMbps, 'bandwidthMbps');
}

export function describeMetricsStoreContract(name: string, create: () => Promise<MetricsStore>): void {
  describe(`MetricsStore contract: ${name}`, () => {
    const base = Date.now() - 30 * 60_000; // half an hour ago: inside any retention, clear of now()
    async function store(): Promise<MetricsStore> {
      const s = await create();
      onTestFinished(() => s.close());
      return s;
    }
    /** Writes `requests` to the store under test and to an embedded twin; returns both, flushed. */
    async function both(requests: RequestMetric[], links: LinkMetric[] = []): Promise<[MetricsStore, EmbeddedMetricsStore]> {
      const s = await store();
      const twin = new EmbeddedMetricsStore();
      for (const r of requests) {
        s.writeRequest(r);
        twin.writeRequest(r);
      }
      for (const l of links) {
        s.writeLink(l);
        twin.writeLink(l);
      }
      await s.flush();
      return [s, twin];
    }

    it('gives per-configuration counts, nearest-rank p50/p95, mean energy, budget rate, agreement and sources', async () => {
      const model = uniqueName('m');
      const requests = seededRequests(seededRandom(1), model, 700, base);
      const [s, twin] = await both(requests);
      const stats = await s.configurationStats({ model, sinceMs: base });
      expect(stats).toHaveLength(3);
      expect(stats.find((c) => c.configuration.startsWith('split'))!.energySource).toBe('measured+modelled');
      expectSameConfigStats(stats, referenceConfigStats(requests.filter((r) => r.errorCode === '')));
      expectSameConfigStats(stats, await twin.configurationStats({ model, sinceMs: base }));
      expect(s.stats()).toMatchObject({ written: 700, dropped: 0, buffered: 0 });
    });

    it('respects windows (since inclusive, until exclusive), the edge class filter and excludes errors', async () => {
      const model = uniqueName('m');
      const requests = seededRequests(seededRandom(2), model, 400, base);
      const [s, twin] = await both(requests);
      const since = requests[100]!.timeMs;
      const until = requests[300]!.timeMs;
      const inWindow = requests.slice(100, 300).filter((r) => r.errorCode === '');
      const queries = [{ model, sinceMs: since, untilMs: until }, { model, sinceMs: base, edgeClass: 'jetson' }, { model, sinceMs: since, untilMs: until, edgeClass: 'rpi4' }];
      expectSameConfigStats(await s.configurationStats(queries[0]!), referenceConfigStats(inWindow));
      expectSameConfigStats(await s.configurationStats(queries[1]!), referenceConfigStats(requests.filter((r) => r.errorCode === '' && r.edgeClass === 'jetson')));
      for (const q of queries) expectSameConfigStats(await s.configurationStats(q), await twin.configurationStats(q));
      expect(await s.configurationStats({ model, sinceMs: base + 3_600_000 })).toEqual([]);
      expect(await s.configurationStats({ model: uniqueName('other'), sinceMs: base })).toEqual([]);
    });

    it('leaves out a configuration whose requests all failed', async () => {
      const model = uniqueName('m');
      const ok = requestMetric({ model, timeMs: base + 1, configuration: 'a' });
      const failed = requestMetric({ model, timeMs: base + 2, configuration: 'b', errorCode: 'DYNASPLIT_ERR_NO_WORKERS' });
      const [s] = await both([ok, failed]);
      expect((await s.configurationStats({ model, sinceMs: base })).map((c) => c.configuration)).toEqual(['a']);
    });

    it('gives the configurations that failed or fell back, with their newest failure and clean success', async () => {
      const model = uniqueName('m');
      const at = (ms: number, configuration: string, over: Partial<RequestMetric> = {}) => requestMetric({ model, timeMs: base + ms, configuration, ...over });
      const requests = [
        at(1, 'a'), at(2, 'a', { errorCode: 'DYNASPLIT_ERR_INFERENCE' }),
        at(3, 'b', { edgeFallback: true }), at(4, 'b', { edgeClass: 'jetson' }),
        at(5, 'c', { edgeFallback: true }), at(6, 'd'), at(7, '', { errorCode: 'DYNASPLIT_ERR_BAD_FRAME' }),
      ];
      const [s, twin] = await both(requests);
      const all = await s.configurationFailures({ model, sinceMs: base });
      expect(all).toEqual([
        { configuration: 'a', failures: 1, lastFailureMs: base + 2, lastSuccessMs: base + 1 },
        { configuration: 'b', failures: 1, lastFailureMs: base + 3, lastSuccessMs: base + 4 },
        { configuration: 'c', failures: 1, lastFailureMs: base + 5, lastSuccessMs: 0 },
      ]);
      expect(all).toEqual(await twin.configurationFailures({ model, sinceMs: base }));
      const rpi4 = { model, sinceMs: base, edgeClass: 'rpi4' };
      expect(await s.configurationFailures(rpi4)).toEqual(await twin.configurationFailures(rpi4));
      expect((await s.configurationFailures(rpi4)).find((f) => f.configuration === 'b')!.lastSuccessMs).toBe(0);
      expect(await s.configurationFailures({ model, sinceMs: base + 6 })).toEqual([]);
    });

    it('uses the InfluxQL nearest rank, floor(n·p/100 + 0.5): 12 values give p95 = the 11th, not the 12th', async () => {
      const model = uniqueName('m');
      const requests = Array.from({ length: 12 }, (_, i) => requestMetric({ model, timeMs: base + i, endToEndMs: 10 * (12 - i) }));
      const [s] = await both([...requests, requestMetric({ model, timeMs: base + 20, configuration: 'single', endToEndMs: 7.25 })]);
      const [a, single] = await s.configurationStats({ model, sinceMs: base });
      expect(a).toMatchObject({ count: 12, latencyP50Ms: 60, latencyP95Ms: 110 });
      expect(single).toMatchObject({ configuration: 'single', count: 1, latencyP50Ms: 7.25, latencyP95Ms: 7.25 });
      expect(a!.agreement).toBeUndefined();
    });

    it('gives link bandwidth as sum(bytes·8)/sum(transfer) in Mbit/s and the median RTT, per window and edge', async () => {
      const edges = [uniqueName('e'), uniqueName('e')];
      const links = seededLinks(seededRandom(3), edges, 301, base);
      const [s, twin] = await both([], links);
      const queries = [{ sinceMs: base, edgeId: edges[0] }, { sinceMs: links[50]!.timeMs, untilMs: links[250]!.timeMs, edgeId: edges[1] }];
      for (const q of queries) expectSameLinkStats(await s.linkStats(q), await twin.linkStats(q));
      const mine = links.filter((l) => l.edgeId === edges[0]);
      const rtts = mine.map((l) => l.rttMs).sort((a, b) => a - b);
      expectSameLinkStats(await s.linkStats(queries[0]!), {
        samples: mine.length,
        bandwidthMbps: (mine.reduce((a, l) => a + l.bytes, 0) * 8) / mine.reduce((a, l) => a + l.transferMs, 0) / 1000,
        rttMs: rtts[Math.floor(rtts.length / 2 + 0.5) - 1]!,
      });
      expect(await s.linkStats({ sinceMs: base, edgeId: uniqueName('none') })).toEqual({ samples: 0, bandwidthMbps: 0, rttMs: 0 });
    });

    it('gives the link samples of a window and edge, oldest first, the newest `limit` of them', async () => {
      const edges = [uniqueName('e'), uniqueName('e')];
      const links = seededLinks(seededRandom(4), edges, 120, base);
      const [s, twin] = await both([], links);
      const since = links[10]!.timeMs;
      const until = links[100]!.timeMs;
      const expected = links.filter((l) => l.edgeId === edges[1] && l.timeMs >= since && l.timeMs < until)
        .map((l) => ({ timeMs: l.timeMs, bytes: l.bytes, transferMs: l.transferMs }));
      const q = { sinceMs: since, untilMs: until, edgeId: edges[1] };
      expect(await s.linkSamples(q)).toEqual(expected);
      expect(await twin.linkSamples(q)).toEqual(expected);
      expect(await s.linkSamples({ ...q, limit: 5 })).toEqual(expected.slice(-5));
      expect(await s.linkSamples({ sinceMs: base, edgeId: uniqueName('none') })).toEqual([]);
    });

    it('writes without blocking or throwing, and close() is idempotent', async () => {
      const s = await create();
      const started = performance.now();
      for (let i = 0; i < 1_000; i++) s.writeRequest(requestMetric({ model: uniqueName('m'), timeMs: base + i }));
      expect(performance.now() - started).toBeLessThan(500); // no I/O per call: 1,000 calls, not 1,000 round trips
      await s.close();
      await s.close();
      expect(s.stats()).toMatchObject({ written: 1_000, buffered: 0 });
    });
  });
}
