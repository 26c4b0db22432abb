/**
 * `dynasplit optimizer run`: live re-optimization. Every interval it reads the window's metrics,
 * updates its estimate of every configuration and its link model, recomputes the exact front, and
 * publishes the policy (retained, versioned) only when the choice it implies changed by more than
 * the hysteresis. Unlike the reference design's fixed front, the policy follows the network and the
 * nodes as they change; a node that stops reporting ages out with the window.
 *
 * What it optimizes comes from the nodes: one space per (model, edge class), built from what the
 * class's edge nodes and the cloud workers announce (nodes.ts, classes.ts); `edgeProfile` and
 * `cloudProfile` override the announcements. Without either it waits, and says so, rather than
 * guessing a device. Configurations whose requests fail or fall back leave the front until they
 * succeed again (failing.ts). After every round its status (OptimizerStatus) is published, retained,
 * and written to the metrics store for Grafana.
 */
import { connectMqtt, endMqtt, settlesWithin, silentLogger, subscribeAcrossReconnects, type Logger, type MqttClient } from '../common/index.ts';
import { profileByName, type DeviceProfile } from '../hardware/index.ts';
import type { MetricsStore } from '../metrics/index.ts';
import { inspectModel, resolveModel, type ModelInspection } from '../model/index.ts';
import { compilePolicy, encodePolicy, type CompiledPolicy, type Configuration } from '../policy/index.ts';
import { OptimizerStatus, topics, type OptimizedClassProperties, type OptimizerStatusProperties, type PolicyProperties } from '../schemas/index.ts';
import { linkForRound, priorEstimate, type LinkModel, type LinkRoundState } from '../pareto/index.ts';
import { classSpace, configurationsOf, devicesOfNodes, devicesOfProfile, type ClassDevices } from './classes.ts';
import { failingConfigurations, withoutFailing } from './failing.ts';
import { NodeDirectory } from './nodes.ts';
import { parseOptimizerOptions, type OptimizerOptions } from './options.ts';
import { choiceChange, estimate, front, policyFor } from './reoptimize.ts';

export interface OptimizerDeps {
  metrics: MetricsStore;
  logger?: Logger;
}

export interface RoundReport {
  model: string;
  edgeClass: string;
  link: LinkModel;
  spaceSize: number;
  measured: number;
  frontSize: number;
  /** The front's configurations, in policy order (what a policy published now would hold). */
  front: Configuration[];
  /** Configurations kept out of the front: their last request failed or fell back. */
  failing: string[];
  change: number;
  published: boolean;
  version: number;
  ms: number;
}

export interface LiveOptimizer {
  /** Runs one round now (tests, and the loop itself). */
  round(): Promise<RoundReport[]>;
  /** The last policy published per model (and edge class; default: the only or first one). */
  published(model: string, edgeClass?: string): PolicyProperties | undefined;
  /** The status as last published. */
  status(): OptimizerStatusProperties;
  close(): Promise<void>;
}

/** One (model, edge class): its space, as long as the devices behind it stay the same, and what was published. */
interface ClassState {
  model: string;
  edgeClass: string;
  devicesKey: string;
  configurations: Configuration[];
  version: number;
  current?: CompiledPolicy;
  last?: PolicyProperties;
  report?: RoundReport;
  /** Whether the last round found request metrics; undefined before the first. */
  hasData?: boolean;
}

interface Devices { edge: ClassDevices; cloud: ClassDevices; source: 'announced' | 'override' }

export async function startOptimizer(partial: Partial<OptimizerOptions>, deps: OptimizerDeps): Promise<LiveOptimizer> {
  const options = parseOptimizerOptions(partial);
  const logger = (deps.logger ?? silentLogger()).child({ component: 'optimizer', node: options.optimizerId });
  const profile = async (name: string | undefined) => (name === undefined ? undefined : profileByName(name));
  const overrides = { edge: await profile(options.edgeProfile), cloud: await profile(options.cloudProfile) };
  const inspections = new Map<string, ModelInspection>();
  for (const [name, spec] of Object.entries(options.models)) inspections.set(name, await inspectModel(await resolveModel(spec, { cacheDir: options.modelCacheDir })));
  const directory = new NodeDirectory();
  // Its status is retained while it runs: a clean stop clears it, and so does its last will.
  const statusTopic = topics.optimizerStatus(options.optimizerId);
  const mqtt = await connectMqtt(options.mqttUrl, {
    clientId: options.optimizerId, ...options.mqttTls, logger,
    will: { topic: statusTopic, payload: Buffer.alloc(0), qos: 1, retain: true },
    prepare: (client) => client.on('message', (topic, payload) => directory.handle(topic, payload, (err) => logger.warn({ topic, err: err.message }, 'node message ignored'))),
  });
  await subscribeAcrossReconnects(mqtt, [topics.announcementsAll(), topics.nodeStatusAll()], { qos: 1 });
  const live = new Optimizer(options, deps.metrics, mqtt, directory, overrides, inspections, logger);
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const loop = () => {
    timer = setTimeout(async () => {
      try {
        await live.round();
      } catch (err) {
        logger.error({ code: (err as { code?: string }).code, err: (err as Error).message }, 'optimizer round failed');
      }
      if (!stopped) loop();
    }, options.intervalMs);
  };
  loop();
  logger.info({ models: [...inspections.keys()], edge: overrides.edge?.name ?? 'announced', cloud: overrides.cloud?.name ?? 'announced' }, 'optimizer running');
  return {
    round: () => live.round(),
    published: (model, edgeClass) => live.published(model, edgeClass),
    status: () => live.status,
    close: async () => {
      stopped = true;
      clearTimeout(timer);
      if (mqtt.connected) await settlesWithin(mqtt.publishAsync(statusTopic, Buffer.alloc(0), { qos: 1, retain: true }).catch(() => undefined), 2_000);
      await endMqtt(mqtt);
    },
  };
}

class Optimizer {
  readonly #states = new Map<string, ClassState>();
  #link: LinkModel;
  /** The link estimate fitted round by round (pareto/link-fit.ts). */
  #linkState: LinkRoundState;
  #round = 0;
  #waiting = '';
  #disagreeing = new Map<string, string>();
  #refusals = '';
  #lastClasses = new Map<string, Devices>();
  /** Why the last round failed ('' when it did not): the status's `waiting` says it. */
  #failed = '';
  status: OptimizerStatusProperties = {};

  constructor(
    readonly options: OptimizerOptions,
    readonly metrics: MetricsStore,
    readonly mqtt: MqttClient,
    readonly directory: NodeDirectory,
    readonly overrides: { edge?: DeviceProfile; cloud?: DeviceProfile },
    readonly inspections: ReadonlyMap<string, ModelInspection>,
    readonly logger: Logger,
  ) {
    this.#link = { bandwidthMbps: options.linkMbps, rttMs: options.linkRttMs };
    this.#linkState = { estimate: priorEstimate(this.#link) };
  }

  published(model: string, edgeClass?: string): PolicyProperties | undefined {
    return [...this.#states.values()].find((s) => s.model === model && (edgeClass === undefined || s.edgeClass === edgeClass) && s.last)?.last;
  }

  async round(): Promise<RoundReport[]> {
    const now = Date.now();
    this.#round++;
    try {
      return await this.#roundAt(now);
    } catch (err) {
      // The status says why nothing moves (a metrics store out of reach, refused reads) instead of freezing.
      const e = err as { code?: string; message?: string };
      this.#failed = `round ${this.#round} failed: ${e.code ?? 'error'} ${e.message ?? String(err)}`;
      await this.#publishStatus(this.#lastClasses, now).catch(() => undefined);
      throw err;
    }
  }

  async #roundAt(now: number): Promise<RoundReport[]> {
    // The window's transfers are what the link does now: rtt and bandwidth fitted over their sizes. Once
    // no transfer has been seen for memoryMs (everything on the edge, as long as a bad measurement is
    // remembered) the estimate returns to the prior: offloading is tried again and a recovered link noticed.
    const window = await this.metrics.linkSamples({ sinceMs: now - this.options.windowMs });
    const prior = { bandwidthMbps: this.options.linkMbps, rttMs: this.options.linkRttMs };
    this.#linkState = linkForRound(this.#linkState, window, now, { prior, minSamples: this.options.minRuns, staleMs: this.options.memoryMs });
    this.#link = { bandwidthMbps: this.#linkState.estimate.bandwidthMbps, rttMs: this.#linkState.estimate.rttMs };
    const classes = this.#classes();
    this.#lastClasses = classes;
    this.#failed = '';
    const reports: RoundReport[] = [];
    for (const [edgeClass, devices] of classes) {
      for (const [model, inspection] of this.inspections) {
        const state = this.#state(model, edgeClass, inspection, devices);
        if (state) reports.push(await this.#optimize(state, inspection, devices, now));
      }
    }
    await this.#publishStatus(classes, now);
    return reports;
  }

  /** The edge classes to optimize and their devices; none while waiting for announcements. */
  #classes(): Map<string, Devices> {
    const cloudNodes = this.directory.nodes('cloud');
    const cloud = this.overrides.cloud ? devicesOfProfile(this.overrides.cloud) : cloudNodes.length > 0 ? devicesOfNodes(cloudNodes) : undefined;
    const overridden = this.options.edgeClass ?? 'default';
    const names = this.options.edgeClass !== undefined ? [this.options.edgeClass]
      : [...new Set([...this.directory.edgeClasses(), ...(this.overrides.edge ? [overridden] : [])])].sort();
    const classes = new Map<string, Devices>();
    const disagreeing = new Map<string, string>();
    if (cloud?.disagreement) disagreeing.set('cloud', cloud.disagreement);
    for (const name of names) {
      const nodes = this.directory.nodes('edge', name);
      if (this.overrides.edge && name === overridden) {
        if (cloud) classes.set(name, { edge: devicesOfProfile(this.overrides.edge), cloud, source: 'override' });
      } else if (nodes.length > 0) {
        const edge = devicesOfNodes(nodes);
        if (edge.disagreement) disagreeing.set(name, edge.disagreement);
        if (cloud) classes.set(name, { edge, cloud, source: 'announced' });
      }
    }
    this.#report(disagreeing, cloud === undefined ? 'no cloud worker has announced itself and no cloud profile was given (--cloud)'
      : classes.size === 0 ? `no edge node${this.options.edgeClass ? ` of class ${this.options.edgeClass}` : ''} has announced itself and no edge profile was given (--edge)` : '');
    return classes;
  }

  /** Logs what changed: disagreeing classes, and whether the optimizer waits. */
  #report(disagreeing: Map<string, string>, waiting: string): void {
    for (const [name, how] of disagreeing) {
      if (this.#disagreeing.get(name) !== how) {
        this.logger.warn({ class: name, disagreement: how }, 'nodes of one class announce different devices: planning for what all of them can run');
      }
    }
    this.#disagreeing = disagreeing;
    if (waiting && waiting !== this.#waiting) this.logger.info({ reason: waiting }, 'waiting for node announcements');
    if (!waiting && this.#waiting) this.logger.info('node announcements received: optimizing');
    this.#waiting = waiting;
  }

  /** The state of (model, class), with a space rebuilt when the class's devices changed; undefined when it has none. */
  #state(model: string, edgeClass: string, inspection: ModelInspection, devices: Devices): ClassState | undefined {
    if (devices.edge.cuts && !devices.edge.cuts.has(model)) return undefined; // the class does not serve it
    const key = `${model}\u0000${edgeClass}`;
    const devicesKey = JSON.stringify([devices.edge.profiles, devices.edge.cuts?.get(model) && [...devices.edge.cuts.get(model)!],
      devices.edge.frequenciesMhz, devices.edge.threads, devices.edge.accelerators, devices.cloud.cloudModes, devices.cloud.cuts?.get(model) && [...devices.cloud.cuts.get(model)!]]);
    let state = this.#states.get(key);
    if (state?.devicesKey === devicesKey) return state;
    const space = classSpace(model, inspection, devices.edge, devices.cloud, this.options.codecs);
    if (space.size === 0) {
      this.logger.error({ model, class: edgeClass, rules: space.rules.map((r) => r.rule) }, 'no configuration the class can run: no policy for it');
      this.#states.delete(key);
      return undefined;
    }
    state = { ...state, model, edgeClass, devicesKey, configurations: configurationsOf(space), version: state?.version ?? 0 };
    this.logger.info({ model, class: edgeClass, nodes: devices.edge.nodes, profile: devices.edge.profile.name, source: devices.source, configurations: space.size },
      'configuration space built');
    this.#states.set(key, state);
    return state;
  }

  async #optimize(state: ClassState, inspection: ModelInspection, devices: Devices, now: number): Promise<RoundReport> {
    const started = performance.now();
    const o = this.options;
    const query = (ms: number) => ({ model: state.model, sinceMs: now - ms, edgeClass: state.edgeClass });
    const [recent, remembered, failures] = await Promise.all([
      this.metrics.configurationStats(query(o.windowMs)), this.metrics.configurationStats(query(o.memoryMs)), this.metrics.configurationFailures(query(o.memoryMs)),
    ]);
    const fresh = new Set(recent.filter((s) => s.count >= o.minRuns).map((s) => s.configuration));
    const hasData = recent.length > 0 || remembered.length > 0;
    if (hasData !== state.hasData) {
      this.logger.info({ model: state.model, class: state.edgeClass, memoryMs: o.memoryMs }, hasData
        ? 'request metrics arriving: planning from measured figures'
        : 'no request metrics in the store for this model and class: planning from modelled figures (the edges must write to the store this optimizer reads)');
      state.hasData = hasData;
    }
    const estimates = estimate({
      configurations: state.configurations,
      stats: recent,
      remembered: remembered.filter((s) => !fresh.has(s.configuration)),
      context: { inspection, edge: devices.edge.profile, cloud: devices.cloud.profile, link: this.#link },
      minRuns: o.minRuns,
    });
    const failing = failingConfigurations(failures);
    const points = front(withoutFailing(estimates, failing));
    // Versions grow across optimizer restarts too (edge nodes ignore older ones): seconds since the epoch,
    // at least +1, and above what the class's edges hold (an earlier optimizer's clock ahead of this one's).
    const held = this.directory.appliedVersion(state.model, state.edgeClass);
    const clock = Math.floor(Date.now() / 1000);
    const version = Math.max(state.version + 1, clock, held + 1);
    if (held >= clock && state.version < held) {
      this.logger.warn({ model: state.model, class: state.edgeClass, held, clockVersion: clock },
        'the edges hold a policy numbered ahead of this optimizer\'s clock (another optimizer\'s clock, or this one\'s set back): numbering above it');
    }
    const policy = policyFor(points, { model: state.model, edgeClass: state.edgeClass, version, rule: o.rule });
    const change = choiceChange(state.current, policy);
    const publish = change > o.hysteresis;
    if (publish) {
      state.version = version;
      state.current = compilePolicy(policy);
      state.last = { ...policy, published_at_ms: Date.now() };
      await this.mqtt.publishAsync(topics.policy(state.model, state.edgeClass), Buffer.from(encodePolicy(state.last)), { qos: 1, retain: true });
      this.logger.info({ model: state.model, class: state.edgeClass, version: state.version, entries: points.length, change, link: this.#link }, 'policy published');
    }
    state.report = {
      model: state.model, edgeClass: state.edgeClass, link: this.#link, spaceSize: state.configurations.length,
      measured: estimates.filter((e) => e.source === 'measured').length, frontSize: points.length,
      front: policy.entries!.map((e) => e.configuration as Configuration), failing: [...failing].sort(),
      change, published: publish, version: state.version, ms: performance.now() - started,
    };
    return state.report;
  }

  /** The status, retained on the optimizer's status topic and written to the metrics store. */
  async #publishStatus(classes: Map<string, Devices>, now: number): Promise<void> {
    const refusals = this.directory.refusals();
    const refusalsKey = JSON.stringify(refusals);
    if (refusals.length > 0 && refusalsKey !== this.#refusals) this.logger.warn({ refusals }, 'edge nodes refuse policies');
    this.#refusals = refusalsKey;
    const current = [...this.#states.values()].filter((s) => classes.has(s.edgeClass) && s.report);
    const rows: OptimizedClassProperties[] = current.map((s) => ({
      model: s.model, edge_class: s.edgeClass, profile_source: classes.get(s.edgeClass)!.source, nodes: classes.get(s.edgeClass)!.edge.nodes.length,
      space_size: s.report!.spaceSize, front_size: s.report!.frontSize, failing: s.report!.failing,
      published_version: s.last?.version ?? 0, published_at_ms: s.last?.published_at_ms ?? 0,
    }));
    this.status = {
      optimizer_id: this.options.optimizerId, round: this.#round, classes: rows, refusals,
      disagreeing: [...this.#disagreeing.keys()], waiting: this.#failed || this.#waiting, updated_at_ms: now,
    };
    for (const row of rows) {
      this.metrics.writeOptimizer({
        timeMs: now, optimizerId: this.options.optimizerId, model: row.model!, edgeClass: row.edge_class!, round: this.#round,
        spaceSize: row.space_size!, frontSize: row.front_size!, failing: row.failing!.length,
        refusals: refusals.filter((r) => r.model === row.model && classes.get(row.edge_class!)!.edge.nodes.includes(r.node_id!)).length,
        disagreeing: this.#disagreeing.has(row.edge_class!) ? 1 : 0, publishedVersion: row.published_version!,
      });
    }
    const bytes = OptimizerStatus.encode(OptimizerStatus.create(this.status)).finish();
    await this.mqtt.publishAsync(topics.optimizerStatus(this.options.optimizerId), Buffer.from(bytes), { qos: 1, retain: true });
  }
}
