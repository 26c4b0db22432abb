/**
 * The edge node: takes frames from the shared MQTT subscription, runs the head of the model under
 * the configuration its policy picks, has a cloud worker run the tail, and publishes the result.
 * Every frame that reaches it is answered exactly once: a result, an edge-completed result, or a
 * coded error (malformed frames included), and the node keeps serving.
 */
import { connectMqtt, DynasplitError, ErrorCodes, isDynasplitError, silentLogger, Limiter, RateLimiter, type Logger, type MqttClient } from '../common/index.ts';
import type { DeviceProfile, NodeHardware } from '../hardware/index.ts';
import type { MetricsStore } from '../metrics/index.ts';
import type { ModelStore } from '../model/index.ts';
import { startNodeRuntime, type NodeRuntime } from '../node-runtime/index.ts';
import { decide, defaultPolicy, type CompiledPolicy } from '../policy/index.ts';
import { Result, topics, type Frame, type ResultProperties } from '../schemas/index.ts';
import { shapeTransport, type LinkSettings, type ShapedTransport, type TensorTransport } from '../transport/index.ts';
import { Accounting, combinedSource } from './accounting.ts';
import { execute, hostThreads, type ExecuteContext } from './execute.ts';
import { admit, decodeFrame } from './frames.ts';
import { stateIdentity } from './journal.ts';
import { parseEdgeOptions, type EdgeNodeOptions } from './options.ts';
import { PolicyStore } from './policy-store.ts';
import { RequestLog, type Recovered } from './request-log.ts';
import { errorResult, successResult } from './results.ts';
import { EdgeStats } from './stats.ts';

export interface EdgeNodeDeps {
  logger?: Logger;
  /** A transport to use instead of creating one from the options (then close() leaves it open). */
  transport?: TensorTransport;
  /** Where per-request metrics go (not closed by the node); none: not recorded. */
  metrics?: MetricsStore;
  /** A calibrated host profile to reuse (otherwise calibrated once per process). */
  host?: DeviceProfile;
}

export interface EdgeNode {
  readonly edgeId: string;
  readonly options: EdgeNodeOptions;
  /** The emulated uplink: read it, or change it while the node runs (a network getting slower). */
  link(): LinkSettings;
  setLink(link: LinkSettings): void;
  stats(): ReturnType<EdgeStats['snapshot']>;
  /** Stops taking frames, answers those already taken, then disconnects. Idempotent. */
  close(): Promise<void>;
}

export async function startEdgeNode(partial: Partial<EdgeNodeOptions>, deps: EdgeNodeDeps = {}): Promise<EdgeNode> {
  let options = parseEdgeOptions(partial);
  // A durable node keeps its id, so the broker finds its session again after a restart.
  if (options.stateDir) options = parseEdgeOptions({ ...partial, edgeId: stateIdentity(options.stateDir, partial.edgeId, options.edgeId) });
  const logger = (deps.logger ?? silentLogger()).child({ component: 'edge-node', node: options.edgeId });
  const runtime = await startNodeRuntime({ ...options, role: 'edge', nodeId: options.edgeId }, { logger, transport: deps.transport, host: deps.host });
  try {
    const node = await startServing(options, runtime, deps.metrics, logger);
    return {
      edgeId: options.edgeId,
      options,
      stats: () => node.stats.snapshot(node.policies.stats()),
      link: () => node.transport.link(),
      setLink: (link) => node.transport.setLink(link),
      close: async () => {
        await node.close();
        await runtime.close();
      },
    };
  } catch (err) {
    await runtime.close();
    throw err;
  }
}

/** Policies (warmed up), the emulated link, the request log, and the subscriptions: the node serves. */
async function startServing(options: EdgeNodeOptions, runtime: NodeRuntime, metrics: MetricsStore | undefined, logger: Logger): Promise<EdgeService> {
  const { models, threads } = runtime;
  const policies = new PolicyStore(
    models.names().map((m) => defaultPolicy(m, models.get(m).inspection.cutPoints, models.get(m).inspection.flops, options.edgeClass)),
    new Map(models.names().map((m) => [m, new Set(models.get(m).cuts)])),
    options.edgeClass,
    logger,
  );
  await Promise.all(models.names().map((m) => warmUp(models, policies.get(m), threads)));
  // A new policy's configurations are loaded right away, so requests do not pay for session creation.
  policies.onApplied = (policy) => {
    warmUp(models, policy, threads).catch((err) => logger.warn({ model: policy.model, err: (err as Error).message }, 'warm-up failed'));
  };
  // An emulated link (demo, tests) adds the time a real uplink would take; its figures then say so.
  const transport = shapeTransport(runtime.transport, { mbps: options.linkMbps, rttMs: options.linkRttMs });
  const { log: requests, recovered } = options.stateDir
    ? RequestLog.open(options.dedupeWindow, options.stateDir, logger)
    : { log: new RequestLog(options.dedupeWindow), recovered: undefined };
  const accounting = new Accounting(runtime.hardware, metrics, models, { ...options, threads }, logger);
  const node = new EdgeService(options, threads, logger, models, policies, transport, runtime.hardware, accounting, requests);
  await node.connect();
  if (recovered) node.recover(recovered);
  return node;
}

/** Loads the sessions a policy uses (heads, and tails for fallbacks), so frames do not pay for it. */
async function warmUp(models: ModelStore, policy: CompiledPolicy, nodeThreads: number): Promise<void> {
  for (const entry of policy.entries) {
    const cut = entry.configuration.cut;
    for (const part of ['head', 'tail'] as const) {
      if ((part === 'head' && cut === 'input') || (part === 'tail' && cut === 'output')) continue;
      (await models.session(policy.model, part, cut, { threads: hostThreads(entry.configuration.edge_threads, nodeThreads) })).release();
    }
  }
}

/** The frames side of an edge node, over the node runtime's models, hardware and transport: subscriptions, admission, runs, answers. */
class EdgeService {
  readonly stats = new EdgeStats();
  readonly #queue: Limiter;
  readonly #rates: RateLimiter;
  readonly #tailEstimates = new Map<string, number>();
  readonly #turns = new Map<string, number>();
  readonly #context: ExecuteContext;
  #closing: Promise<void> | undefined;
  /** Set as soon as the client exists: a persistent session's queued frames come before `connect` returns. */
  mqtt!: MqttClient;

  constructor(
    readonly options: EdgeNodeOptions,
    /** Session threads of the node (sessionThreads of its options). */
    threads: number,
    readonly logger: Logger,
    readonly models: ModelStore,
    readonly policies: PolicyStore,
    readonly transport: ShapedTransport,
    readonly hardware: NodeHardware,
    readonly accounting: Accounting,
    readonly requests: RequestLog,
  ) {
    this.#queue = new Limiter(Math.max(options.maxInFlight, options.concurrency), options.maxQueue);
    // Unbounded wait: the queue above bounds what can be waiting here.
    const computing = new Limiter(options.concurrency, Number.POSITIVE_INFINITY);
    this.#rates = new RateLimiter(options.maxSensorRate);
    this.#context = {
      models,
      transport,
      hardware,
      edgeId: options.edgeId,
      threads,
      minCloudWaitMs: options.minCloudWaitMs,
      onEdge: (work) => computing.run(work),
      tailEstimateMs: (model, cut) => this.#tailEstimates.get(`${model}\u0000${cut}`) ?? 0,
      recordTail: (model, cut, ms) => {
        const key = `${model}\u0000${cut}`;
        const previous = this.#tailEstimates.get(key);
        this.#tailEstimates.set(key, previous === undefined ? ms : 0.8 * previous + 0.2 * ms);
      },
    };
  }

  /**
   * Connects and subscribes. A durable node (a state directory) has a persistent session: the broker
   * keeps its frames while it is away, and a frame is journaled before the broker is acknowledged.
   */
  async connect(): Promise<void> {
    await connectMqtt(this.options.mqttUrl, {
      clientId: this.options.edgeId,
      clean: !this.requests.durable,
      ...this.options.mqttTls,
      prepare: (client) => {
        this.mqtt = client;
        client.on('message', (topic, payload) => this.#onMessage(topic, payload));
        // mqtt.js sends a QoS 1 PUBACK once this calls back; an error withholds it (the broker redelivers).
        client.handleMessage = (_packet, done) => {
          try {
            this.requests.sync();
            done();
          } catch (err) {
            this.logger.error({ err: (err as Error).message }, 'journal cannot be made durable: frame left unacknowledged');
            done(err as Error);
          }
        };
      },
    });
    // Policies first, so retained policies are in place before the first frame is handled.
    await this.mqtt.subscribeAsync(this.policies.topics(), { qos: 1 });
    await this.mqtt.subscribeAsync(topics.framesShared(this.options.group), { qos: 1 });
    this.logger.info({ models: this.models.names(), group: this.options.group, transport: this.transport.kind, durable: this.requests.durable },
      'edge node serving');
  }

  /** Finishes what the node had taken before it stopped: results to send again, frames to run. */
  recover(recovered: Recovered): void {
    for (const { key, sensorId, result } of recovered.unsent) this.#publish(sensorId, result, key);
    for (const { sensorId, payload } of recovered.frames) this.#accept(sensorId, payload, true);
  }

  #onMessage(topic: string, payload: Buffer): void {
    if (this.policies.handle(topic, payload)) return;
    const sensorId = topics.sensorOfFrames(topic);
    if (sensorId === undefined) {
      this.stats.frame();
      this.stats.error(ErrorCodes.BAD_FRAME);
      this.logger.warn({ topic }, 'message on an unexpected topic: not answerable, dropped');
      return;
    }
    this.#accept(sensorId, payload, false);
  }

  /** Takes one frame: answered exactly once, now (refused) or when it has run. `replayed`: recovered from the journal. */
  #accept(sensorId: string, payload: Uint8Array, replayed: boolean): void {
    const arrivedAt = performance.now();
    this.stats.frame();
    // Decoding first (cheap: tensor bytes stay a view) lets every refusal below name its request.
    let frame: Frame;
    try {
      frame = decodeFrame(payload, this.options.maxFrameBytes);
    } catch (err) {
      this.#answerError(sensorId, err);
      return;
    }
    const origin = { sensorId, requestId: frame.request_id, model: frame.model, budgetMs: frame.budget_ms };
    // A frame without a request id cannot be a duplicate of anything: admit() refuses it.
    const key = frame.request_id ? `${sensorId}/${frame.request_id}` : undefined;
    if (key && !replayed) {
      const seen = this.requests.check(key, sensorId, payload);
      if (seen.duplicate) {
        this.stats.duplicate();
        if (seen.result) this.#publish(sensorId, seen.result);
        return;
      }
    }
    if (this.#closing) {
      this.#answerError(sensorId, new DynasplitError(ErrorCodes.CLOSED, 'edge node is shutting down', { retryable: true }), origin, key);
      return;
    }
    if (!replayed && !this.#rates.take(sensorId, Date.now())) {
      this.#answerError(sensorId, new DynasplitError(ErrorCodes.RATE_LIMITED,
        `sensor ${sensorId} exceeds ${this.options.maxSensorRate} frames/s`, { retryable: true }), origin, key);
      return;
    }
    // #handle answers every failure itself; only a refusal by the full queue comes back here.
    this.#queue.run(() => this.#handle(sensorId, frame, arrivedAt, key)).catch((err) => this.#answerError(sensorId, err, origin, key));
  }

  async #handle(sensorId: string, frame: Frame, arrivedAt: number, key: string | undefined): Promise<void> {
    const origin = { sensorId, requestId: frame.request_id, model: frame.model, budgetMs: frame.budget_ms };
    // Queueing: until the frame first gets a compute slot (later waits for one count in the compute times).
    let queueMs = 0;
    try {
      const req = await this.#context.onEdge(() => {
        queueMs = performance.now() - arrivedAt;
        return admit(frame, sensorId, this.models, Date.now());
      });
      const mark = this.accounting.start();
      const started = performance.now();
      const policy = this.policies.get(req.model);
      const turn = this.#turns.get(req.model) ?? 0;
      this.#turns.set(req.model, turn + 1);
      const entry = req.forced ?? decide(policy, req.deadlineAtMs - Date.now(), { accuracyFloor: req.accuracyFloor, turn })!;
      const outcome = await execute(req, entry, this.#context);
      const energy = await this.accounting.energy(mark, outcome, performance.now() - started, entry);
      const link = this.options.linkMbps > 0 || this.options.linkRttMs > 0 ? 'emulated' : 'measured';
      const latencySource = outcome.workerId
        ? combinedSource(combinedSource(this.hardware.latencySource, outcome.cloudLatencySource), link)
        : this.hardware.latencySource;
      const result = successResult(req, entry, outcome, { queueMs, energy, latencySource }, { edgeId: this.options.edgeId, topK: this.options.topK });
      this.stats.result(result, outcome.fallbackCode);
      this.#answer(sensorId, result, key);
      this.accounting.record(result, req, outcome);
    } catch (err) {
      this.#answerError(sensorId, err, origin, key);
    }
  }

  #answerError(sensorId: string, err: unknown, origin?: { requestId: string; model: string; budgetMs: number }, key?: string): void {
    const code = isDynasplitError(err) ? err.code : ErrorCodes.INFERENCE;
    this.stats.error(code);
    this.logger.warn({ sensor: sensorId, request: origin?.requestId, code, err: (err as Error)?.message }, 'request failed');
    const result = errorResult({ sensorId, requestId: origin?.requestId ?? '', model: origin?.model ?? '', budgetMs: origin?.budgetMs ?? 0 }, err, {
      edgeId: this.options.edgeId, topK: this.options.topK,
    });
    this.accounting.record(result);
    this.#answer(sensorId, result, key);
  }

  /** Publishes the answer to a request, remembered under `key` (so a duplicate gets it again). */
  #answer(sensorId: string, result: ResultProperties, key: string | undefined): void {
    const bytes = Result.encode(Result.create(result)).finish();
    if (key) this.requests.answered(key, sensorId, bytes);
    this.#publish(sensorId, bytes, key);
  }

  /** `key`: marked sent once the broker acknowledges (a durable node sends unacknowledged ones again after a restart). */
  #publish(sensorId: string, bytes: Uint8Array, key?: string): void {
    this.mqtt.publish(topics.results(sensorId), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { qos: 1 }, (err) => {
      if (err) this.logger.error({ sensor: sensorId, err: err.message }, 'result could not be published');
      else if (key) this.requests.sent(key);
    });
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      // A durable node keeps its subscription: the broker holds frames for it until it is back.
      if (!this.requests.durable) await this.mqtt.unsubscribeAsync(topics.framesShared(this.options.group)).catch(() => undefined);
      await this.#queue.drain();
      await this.mqtt.endAsync();
      this.requests.close();
      this.logger.info(this.stats.snapshot(this.policies.stats()), 'edge node closed');
    })();
    return this.#closing;
  }
}
