/**
 * `dynasplit optimizer run`: live re-optimization. Every interval it reads the window's metrics,
 * updates its estimate of every configuration and its link model, recomputes the exact front, and
 * publishes the policy (retained, versioned) only when the choice it implies changed by more than
 * the hysteresis. Unlike the reference design's fixed front, the policy follows the network and the
 * nodes as they change; a node that stops reporting ages out with the window.
 */
import { connectMqtt, DynasplitError, ErrorCodes, silentLogger, type Logger, type MqttClient } from '../common/index.ts';
import { HOST_PROFILE, loadProfile, processHost, type DeviceProfile } from '../hardware/index.ts';
import type { MetricsStore } from '../metrics/index.ts';
import { inspectModel, resolveModel, type ModelInspection } from '../model/index.ts';
import { compilePolicy, encodePolicy, type CompiledPolicy, type Configuration } from '../policy/index.ts';
import { topics, type PolicyProperties } from '../schemas/index.ts';
import { type LinkModel, knobsFromProfiles, profileCheck, buildSpace, configurationAt, cutsFromInspection } from '../pareto/index.ts';
import { parseOptimizerOptions, type OptimizerOptions } from './options.ts';
import { choiceChange, estimate, front, policyFor } from './reoptimize.ts';

export interface OptimizerDeps {
  metrics: MetricsStore;
  logger?: Logger;
}

export interface RoundReport {
  model: string;
  link: LinkModel;
  measured: number;
  frontSize: number;
  change: number;
  published: boolean;
  version: number;
  ms: number;
}

export interface LiveOptimizer {
  /** Runs one round now (tests, and the loop itself). */
  round(): Promise<RoundReport[]>;
  /** The last policy published per model. */
  published(model: string): PolicyProperties | undefined;
  close(): Promise<void>;
}

interface ModelState {
  name: string;
  inspection: ModelInspection;
  configurations: Configuration[];
  version: number;
  current?: CompiledPolicy;
  last?: PolicyProperties;
}

export async function startOptimizer(partial: Partial<OptimizerOptions>, deps: OptimizerDeps): Promise<LiveOptimizer> {
  const options = parseOptimizerOptions(partial);
  const logger = (deps.logger ?? silentLogger()).child({ component: 'optimizer', node: options.optimizerId });
  // 'host' is this machine as calibrated, as the nodes themselves use it.
  const profile = async (name: string) => (name === HOST_PROFILE ? processHost() : loadProfile(name));
  const edge = await profile(options.edgeProfile);
  const cloud = await profile(options.cloudProfile);
  const models: ModelState[] = [];
  for (const [name, spec] of Object.entries(options.models)) {
    const inspection = await inspectModel(await resolveModel(spec, { cacheDir: options.modelCacheDir }));
    models.push({ name, inspection, configurations: spaceOf(inspection, edge, cloud, options.codecs), version: 0 });
  }
  const mqtt = await connectMqtt(options.mqttUrl, { clientId: options.optimizerId, ...options.mqttTls });
  let link: LinkModel = { bandwidthMbps: options.linkMbps, rttMs: options.linkRttMs };
  const round = async (): Promise<RoundReport[]> => {
    const now = Date.now();
    const linkStats = await deps.metrics.linkStats({ sinceMs: now - options.windowMs });
    // The window's transfers are what the link does now. Their aggregate rate already includes the
    // round trips, so the measured link model carries no separate rtt.
    if (linkStats.samples >= options.minRuns && linkStats.bandwidthMbps > 0) link = { bandwidthMbps: linkStats.bandwidthMbps, rttMs: 0 };
    const reports: RoundReport[] = [];
    for (const state of models) reports.push(await optimizeModel(state, now, link, options, deps.metrics, mqtt, logger, { edge, cloud }));
    return reports;
  };
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const loop = () => {
    timer = setTimeout(async () => {
      try {
        await round();
      } catch (err) {
        logger.error({ err: (err as Error).message }, 'optimizer round failed');
      }
      if (!stopped) loop();
    }, options.intervalMs);
  };
  loop();
  logger.info({ models: models.map((m) => `${m.name} (${m.configurations.length} configurations)`), edge: edge.name, cloud: cloud.name }, 'optimizer running');
  return {
    round,
    published: (model) => models.find((m) => m.name === model)?.last,
    close: async () => {
      stopped = true;
      clearTimeout(timer);
      await mqtt.endAsync();
    },
  };
}

function spaceOf(inspection: ModelInspection, edge: DeviceProfile, cloud: DeviceProfile, codecs?: string[]): Configuration[] {
  const knobs = { ...knobsFromProfiles(edge, cloud), ...(codecs ? { codecs } : {}) };
  const space = buildSpace(cutsFromInspection(inspection), knobs, profileCheck(edge));
  if (space.size === 0) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `optimizer: ${edge.name} and ${cloud.name} leave no valid configuration (${space.rules.map((r) => r.rule).join('; ')})`);
  }
  return Array.from(space.indices, (index) => configurationAt(space, index));
}

async function optimizeModel(
  state: ModelState, now: number, link: LinkModel, options: OptimizerOptions, metrics: MetricsStore, mqtt: MqttClient, logger: Logger,
  devices: { edge: DeviceProfile; cloud: DeviceProfile },
): Promise<RoundReport> {
  const started = performance.now();
  const query = (ms: number) => metrics.configurationStats({ model: state.name, sinceMs: now - ms, edgeClass: options.edgeClass });
  const [recent, remembered] = await Promise.all([query(options.windowMs), query(options.memoryMs)]);
  const fresh = new Set(recent.filter((s) => s.count >= options.minRuns).map((s) => s.configuration));
  const estimates = estimate({
    configurations: state.configurations,
    stats: recent,
    remembered: remembered.filter((s) => !fresh.has(s.configuration)),
    context: { inspection: state.inspection, ...devices, link },
    minRuns: options.minRuns,
  });
  const points = front(estimates);
  // Versions grow across optimizer restarts too (edge nodes ignore older ones): seconds since the epoch, at least +1.
  const version = Math.max(state.version + 1, Math.floor(Date.now() / 1000));
  const policy = policyFor(points, { model: state.name, edgeClass: options.edgeClass, version, rule: options.rule });
  const change = choiceChange(state.current, policy);
  const publish = change > options.hysteresis;
  if (publish) {
    state.version = version;
    state.current = compilePolicy(policy);
    state.last = { ...policy, published_at_ms: Date.now() };
    await mqtt.publishAsync(topics.policy(state.name, options.edgeClass), Buffer.from(encodePolicy(state.last)), { qos: 1, retain: true });
    logger.info({ model: state.name, version: state.version, entries: points.length, change, link }, 'policy published');
  }
  return {
    model: state.name, link, measured: estimates.filter((e) => e.source === 'measured').length, frontSize: points.length,
    change, published: publish, version: state.version, ms: performance.now() - started,
  };
}
