/**
 * What the testbed (`dynasplit eval testbed`) measures, and how long that takes: the reduced
 * configuration space it profiles, chosen so the strategies still have real choices (cut points
 * spread over the model, the edge's lowest and highest clock, its accelerator modes, every codec and
 * cloud mode) without measuring settings that cannot differ. Pure: the command runs the pipeline.
 * docs/evaluation.md, "Testbed".
 */
import { CODEC_NAMES } from '../codec/index.ts';
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import { hostGflops, NO_ACCELERATOR, predictedComputeMs, type DeviceProfile } from '../hardware/index.ts';
import { cutRefusal, type CutPointInfo, type ModelInspection } from '../model/index.ts';
import { buildSpace, configurationAt, knobsFromProfiles, poolRow, predict, priorAccuracy, profileCheck, type KnobSet, type PoolRow, type SpaceCut } from '../pareto/index.ts';
import { CLOUD_ONLY_CUT, EDGE_ONLY_CUT, type Configuration } from '../policy/index.ts';
import { SYNTHETIC_VARIANTS } from '../workload/index.ts';

/** A knob's values: every one the profiles offer, or a list of words (min, max) and values. */
export type Selection = 'all' | string[];

export interface TestbedSpace {
  /** Cut points besides input (cloud-only) and output (edge-only), which are always measured: all, a count spread over the model, or names. */
  cuts: 'all' | number | string[];
  frequencies: Selection;
  threads: Selection;
  /** 'none' is the edge CPU; all = the CPU and every accelerator mode. */
  accelerators: Selection;
  codecs: string[];
  cloudModes: Selection;
}

/**
 * The default: 6 cut points spread over the model, the highest clock on all cores, every accelerator
 * mode, three codecs, every cloud mode. The lowest clock is left out: in the profiles' energy model
 * (idle power is most of a board's power at its lowest clock) a CPU head at the lowest clock is
 * slower and costs more energy than at the highest, so it is never a choice, yet it triples the
 * head's measuring time; `frequencies=min,max` measures it all the same. docs/evaluation.md.
 */
export const DEFAULT_SPACE = 'cuts=6;frequencies=max;threads=max;accelerators=all;codecs=fp32,fp16,int8;cloud=all';

const KEYS = { cuts: 'cuts', frequencies: 'frequencies', threads: 'threads', accelerators: 'accelerators', codecs: 'codecs', cloud: 'cloudModes' } as const;

const EVERYTHING: TestbedSpace = { cuts: 'all', frequencies: 'all', threads: 'all', accelerators: 'all', codecs: [...CODEC_NAMES], cloudModes: 'all' };

/** `key=value;key=value` (or whitespace between clauses); keys not given keep DEFAULT_SPACE's values. */
export function parseSpace(spec: string): TestbedSpace {
  return applyClauses(applyClauses(EVERYTHING, DEFAULT_SPACE), spec);
}

function applyClauses(space: TestbedSpace, spec: string): TestbedSpace {
  const out = { ...space };
  for (const clause of spec.split(/[;\s]+/).filter(Boolean)) {
    const [key, value, ...extra] = clause.split('=');
    const field = KEYS[key as keyof typeof KEYS];
    if (!field || !value || extra.length > 0) throw badSpace(`'${clause}' is not one of ${Object.keys(KEYS).map((k) => `${k}=...`).join(', ')}`);
    const list = value.split(',').map((v) => v.trim()).filter(Boolean);
    if (field === 'cuts') out.cuts = value === 'all' ? 'all' : /^\d+$/.test(value) ? Number(value) : list;
    else if (field === 'codecs') out.codecs = list;
    else out[field] = value === 'all' ? 'all' : list;
  }
  return out;
}

export interface PlanContext {
  inspection: Pick<ModelInspection, 'input' | 'cutPoints' | 'output'> & Partial<Pick<ModelInspection, 'nonFloatCutPoints'>>;
  edge: DeviceProfile;
  cloud: DeviceProfile;
  /** How much longer the host takes for this model than its profile's throughput says (time estimates only); default 1. */
  hostFactor?: number;
}

export interface TestbedPlan {
  /** The cuts measured, in model order (input first, output last). */
  cuts: string[];
  /** One group per cut, in model order; each group shares the edge's head and the cloud's tail session. */
  groups: { cut: string; configurations: Configuration[] }[];
  configurations: Configuration[];
}

/**
 * The configurations to profile. Per cut, the edge CPU at every chosen clock and thread count, and
 * each accelerator mode once (at the highest chosen clock on all chosen threads: neither changes an
 * accelerator's time or power in the profiles); cloud-only once per codec and cloud mode (the edge only
 * waits, at any clock). The optimizer's space rules then apply: the edge profile's memory and
 * accelerator limits, codecs by tensor rank, no codec or cloud mode for edge-only.
 */
export function planConfigurations(space: TestbedSpace, ctx: PlanContext): TestbedPlan {
  const knobs = knobsFromProfiles(ctx.edge, ctx.cloud);
  const frequencies = selectNumbers('frequencies', space.frequencies, knobs.frequenciesMhz);
  const threads = selectNumbers('threads', space.threads, knobs.threads);
  const accelerators = selectWords('accelerators', space.accelerators, knobs.accelerators);
  const cloudModes = selectWords('cloud', space.cloudModes, knobs.cloudModes);
  const unknownCodecs = space.codecs.filter((c) => !(CODEC_NAMES as readonly string[]).includes(c));
  if (unknownCodecs.length > 0 || space.codecs.length === 0) throw badSpace(`codecs must be among ${CODEC_NAMES.join(', ')}, got '${space.codecs.join(',')}'`);
  const chosen = [ctx.inspection.input, ...selectCuts(space.cuts, ctx.inspection), ctx.inspection.output];
  const top = { frequenciesMhz: [Math.max(...frequencies)], threads: [Math.max(...threads)] };
  const base = { codecs: space.codecs, cloudModes };
  const check = profileCheck(ctx.edge);
  const offEdge = chosen.slice(1);
  const cpu = accelerators.includes(NO_ACCELERATOR) ? enumerate(offEdge, { ...base, frequenciesMhz: frequencies, threads, accelerators: [NO_ACCELERATOR] }, check) : [];
  const accel = accelerators.filter((a) => a !== NO_ACCELERATOR);
  const onAccelerator = accel.length > 0 ? enumerate(offEdge, { ...base, ...top, accelerators: accel }, check) : [];
  const cloudOnly = enumerate([ctx.inspection.input], { ...base, ...top, accelerators: [NO_ACCELERATOR] }, check);
  const byCut = new Map<string, Map<string, Configuration>>(chosen.map((c) => [c.name, new Map()]));
  for (const c of [...cloudOnly, ...cpu, ...onAccelerator]) byCut.get(c.cut)!.set(c.name, c);
  const groups = [...byCut].map(([cut, configs]) => ({ cut, configurations: [...configs.values()] })).filter((g) => g.configurations.length > 0);
  return { cuts: groups.map((g) => g.cut), groups, configurations: groups.flatMap((g) => g.configurations) };
}

function enumerate(cuts: readonly SpaceCut[], knobs: KnobSet, check: ReturnType<typeof profileCheck>): Configuration[] {
  const space = buildSpace(cuts, knobs, check);
  return Array.from(space.indices, (index) => configurationAt(space, index));
}

/**
 * `count` cut points spread over the model. Each cut point's place is the mean of its share of the cut
 * points before it and its share of the FLOPs before it (the graph alone would crowd a model's cheap
 * first layers, as ViT's embedding; the FLOPs alone its cheap last ones, as VGG16's classifier). The
 * places are cut into `count` equal runs and each run gives its smallest tensor (the earliest of
 * equal ones), so a spread of VGG16 lands on its pooling layers, where the link carries least.
 */
export function spreadCuts(cutPoints: readonly Pick<CutPointInfo, 'name' | 'bytesPerSample' | 'flopsBefore'>[], count: number): string[] {
  const n = cutPoints.length;
  if (count >= n) return cutPoints.map((c) => c.name);
  const flops = Math.max(...cutPoints.map((c) => c.flopsBefore)) || 1;
  const best = new Map<number, number>();
  cutPoints.forEach((c, i) => {
    const place = (i / n + c.flopsBefore / flops) / 2;
    const run = Math.min(count - 1, Math.floor(place * count));
    const held = best.get(run);
    if (held === undefined || c.bytesPerSample < cutPoints[held].bytesPerSample) best.set(run, i);
  });
  return [...best.values()].sort((a, b) => a - b).map((i) => cutPoints[i].name);
}

function selectCuts(cuts: TestbedSpace['cuts'], inspection: PlanContext['inspection']): CutPointInfo[] {
  const { cutPoints } = inspection;
  if (cuts === 'all') return [...cutPoints];
  if (typeof cuts === 'number') {
    const names = new Set(spreadCuts(cutPoints, cuts));
    return cutPoints.filter((c) => names.has(c.name));
  }
  const wanted = cuts.filter((c) => c !== CLOUD_ONLY_CUT && c !== EDGE_ONLY_CUT);
  const unknown = wanted.filter((w) => !cutPoints.some((c) => c.name === w));
  if (unknown.length > 0) {
    const reasons = unknown.map((cut) => cutRefusal(inspection.nonFloatCutPoints ?? [], 'the model', cut));
    throw new DynasplitError(ErrorCodes.UNKNOWN_CUT, `testbed space: ${reasons.join('; ')}`, { details: { cuts: unknown } });
  }
  return cutPoints.filter((c) => wanted.includes(c.name));
}

function selectNumbers(key: string, selection: Selection, offered: readonly number[]): number[] {
  if (selection === 'all') return [...offered];
  const values = selection.map((v) => (v === 'min' ? Math.min(...offered) : v === 'max' ? Math.max(...offered) : Number(v)));
  const bad = values.filter((v) => !offered.includes(v));
  if (bad.length > 0 || values.length === 0) throw badSpace(`${key} must be among min, max, ${offered.join(', ')}; got '${selection.join(',')}'`);
  return [...new Set(values)];
}

function selectWords(key: string, selection: Selection, offered: readonly string[]): string[] {
  if (selection === 'all') return [...offered];
  const bad = selection.filter((v) => !offered.includes(v));
  if (bad.length > 0 || selection.length === 0) throw badSpace(`${key} must be among all, ${offered.map((o) => o || "''").join(', ')}; got '${selection.join(',')}'`);
  return [...new Set(selection)];
}

function badSpace(message: string): DynasplitError {
  return new DynasplitError(ErrorCodes.BAD_ARGS, `testbed space: ${message}`);
}

// ---- time ----

/** ms a request costs beyond compute and transfer on the embedded pipeline (MQTT, protobuf, codecs); measured on a 2-core host. */
const OVERHEAD_MS = 40;
/** Mbit/s the embedded broker moves tensors at, as measured there (in-process, but through MQTT and protobuf). */
const EMBEDDED_LINK_MBPS = 50;

/**
 * Rough wall-clock ms of one request of `config` on the embedded pipeline. An emulating node computes
 * a part on the host in h = hostFactor x (the host model's time) and reports the device model's time
 * d plus what the host took beyond its model; it sleeps until then, so the part takes
 * h + max(0, d - the host model's time) (a device faster than the host cannot be emulated by
 * waiting). Plus the tensor's bytes over the embedded link and a fixed overhead.
 */
export function estimateRequestMs(config: Configuration, ctx: PlanContext, host: DeviceProfile): number {
  const p = predict(config, { ...ctx, link: { bandwidthMbps: EMBEDDED_LINK_MBPS, rttMs: 0 } });
  const cut = config.cut === CLOUD_ONLY_CUT ? ctx.inspection.input : config.cut === EDGE_ONLY_CUT ? ctx.inspection.output
    : ctx.inspection.cutPoints.find((c) => c.name === config.cut)!;
  const part = (deviceMs: number, flops: number, threads: number) => {
    const modelMs = flops > 0 ? predictedComputeMs(flops, host, { threads: Math.min(threads, host.cpu.cores) }) : 0;
    return (ctx.hostFactor ?? 1) * modelMs + Math.max(0, deviceMs - modelMs);
  };
  const edge = part(p.edgeComputeMs, cut.flopsBefore, config.edge_threads || host.cpu.cores);
  const cloud = config.cut === EDGE_ONLY_CUT ? 0 : part(p.cloudComputeMs, cut.flopsAfter, host.cpu.cores);
  return edge + cloud + p.transferMs + OVERHEAD_MS;
}

/** ms the unsplit model takes on the host on one thread (the reference answers, a warm-up). */
export function referenceMs(ctx: PlanContext, host: DeviceProfile): number {
  return (ctx.hostFactor ?? 1) * ctx.inspection.output.flopsBefore / (hostGflops(host, 1) * 1e6);
}

/**
 * Rough ms of phase 1, per group of `plan.groups`: the profiler's reference answers (the unsplit model
 * on its inputs, on one thread), `warmup` unrecorded requests of the cut's first configuration, then
 * `repetitions` of each configuration.
 */
export function measureCostsMs(plan: TestbedPlan, ctx: PlanContext, host: DeviceProfile, runs: { warmup: number; repetitions: number }): number[] {
  // The measurement run answers each of its synthetic inputs with the unsplit model once per call.
  const perCall = SYNTHETIC_VARIANTS * referenceMs(ctx, host) + CALL_OVERHEAD_MS;
  return plan.groups.map((g) => perCall + runs.warmup * estimateRequestMs(g.configurations[0], ctx, host)
    + runs.repetitions * g.configurations.reduce((s, c) => s + estimateRequestMs(c, ctx, host), 0));
}

/** ms to inspect the model and open the unsplit model's session, per profiling call (1-2 s for the full models here). */
const CALL_OVERHEAD_MS = 1500;

/** One predicted run per configuration (estimated wall-clock latency, modelled energy), to size phase 2 before anything is measured. */
export function predictedPool(plan: TestbedPlan, ctx: PlanContext, host: DeviceProfile, model: string): PoolRow[] {
  const link = { bandwidthMbps: EMBEDDED_LINK_MBPS, rttMs: 0 };
  return plan.configurations.map((c) => poolRow({
    model, configuration: c.name, cut: c.cut, codec: c.codec, edgeFrequencyMhz: c.edge_frequency_mhz ?? 0, edgeThreads: c.edge_threads ?? 0,
    edgeAccelerator: c.edge_accelerator ?? '', cloudAccelerator: c.cloud_accelerator ?? '',
    latencyMs: estimateRequestMs(c, ctx, host), energyJ: predict(c, { ...ctx, link }).energyJ, accuracy: priorAccuracy(c.codec),
  }));
}

/**
 * MiB of weights the edge and the cloud keep loaded so that no session of the plan is evicted: a
 * session evicted and opened again inside a request would count its loading as compute (on the edge,
 * dilated). The edge holds heads, and the tails of the cuts its policy names (for fallbacks); the
 * cloud holds tails.
 */
export function sessionBudgetsMb(plan: TestbedPlan, ctx: PlanContext): { edge: number; cloud: number } {
  const info = [ctx.inspection.input, ...ctx.inspection.cutPoints, ctx.inspection.output];
  const cuts = info.filter((c) => plan.cuts.includes(c.name));
  const heads = cuts.reduce((s, c) => s + c.paramBytesBefore, 0);
  const tails = cuts.reduce((s, c) => s + c.paramBytesAfter, 0);
  const mib = (bytes: number) => Math.max(1024, Math.ceil((bytes * 1.25) / 2 ** 20));
  return { edge: mib(heads + tails), cloud: mib(tails) };
}
