/**
 * The edge node: takes frames from the shared MQTT subscription, runs the head of the model under
 * the configuration its policy picks, has a cloud worker run the tail, and publishes the result.
 * Every frame that reaches it is answered exactly once: a result, an edge-completed result, or a
 * coded error (malformed frames included), and the node keeps serving.
 */
import { connectMqtt, holdAcks, DynasplitError, endMqtt, settlesWithin, subscribeAcrossReconnects, ErrorCodes, isDynasplitError, silentLogger, Limiter, RateLimiter, wallClockAt, wallClockMs, type AckHolder, type Logger, type MqttClient, type Slot } from '../common/index.ts';
import type { IPublishPacket } from 'mqtt';
import type { DeviceProfile, NodeHardware } from '../hardware/index.ts';
import type { MetricsStore } from '../metrics/index.ts';
import type { ModelStore } from '../model/index.ts';
import { startNodeRuntime, type ModelCards, type NodeRuntime } from '../node-runtime/index.ts';
import { decide, defaultPolicy, type CompiledPolicy, type Entry } from '../policy/index.ts';
import { encodeMessage, Result, topics, type Frame, type ResultProperties } from '../schemas/index.ts';
import { shapeTransport, type LinkSettings, type ShapedTransport, type TensorTransport } from '../transport/index.ts';
import { Accounting, combinedSource } from './accounting.ts';
import { execute, hostThreads, type ExecuteContext } from './execute.ts';
import { FairQueue } from './fair-queue.ts';
import { admit, takeFrame, type FrameOrigin } from './frames.ts';
import type { JournalFs } from './journal.ts';
import { parseEdgeOptions, type EdgeNodeInput, type EdgeNodeOptions } from './options.ts';
import { capabilitiesOf } from './policy-check.ts';
import { PolicyStore } from './policy-store.ts';
import { RequestLog, type Recovered } from './request-log.ts';
import { clockAheadMs, errorResult, successResult } from './results.ts';
import { refuseIfInUse, stateIdentity } from './state-dir.ts';
import { EdgeStats } from './stats.ts';

export interface EdgeNodeDeps {
  logger?: Logger;
  /** A transport to use instead of creating one from the options (then close() leaves it open). */
  transport?: TensorTransport;
  /** Where per-request metrics go (not closed by the node); none: not recorded. */
  metrics?: MetricsStore;
  /** A calibrated host profile to reuse (otherwise calibrated once per process). */
  host?: DeviceProfile;
  /** The file system the journal writes through (tests inject faults here); default node:fs. */
  journalFs?: JournalFs;
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

export async function startEdgeNode(partial: EdgeNodeInput, deps: EdgeNodeDeps = {}): Promise<EdgeNode> {
  let options = parseEdgeOptions(partial);
  // A durable node keeps its id, so the broker finds its session again after a restart.
  if (options.stateDir) {
    refuseIfInUse(options.stateDir);
    options = parseEdgeOptions({ ...partial, edgeId: stateIdentity(options.stateDir, partial.edgeId, options.edgeId) });
  }
  const logger = (deps.logger ?? silentLogger()).child({ component: 'edge-node', node: options.edgeId });
  const runtime = await startNodeRuntime({ ...options, role: 'edge', nodeId: options.edgeId, nodeClass: options.edgeClass }, { logger, transport: deps.transport, host: deps.host });
  try {
    const node = await startServing(options, runtime, deps, logger);
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
async function startServing(options: EdgeNodeOptions, runtime: NodeRuntime, deps: EdgeNodeDeps, logger: Logger): Promise<EdgeService> {
  const { models, threads } = runtime;
  const policies = new PolicyStore(
    models.names().map((m) => defaultPolicy(m, models.get(m).inspection.cutPoints, models.get(m).inspection.flops, options.edgeClass)),
    capabilitiesOf(models, runtime.hardware.profile),
    options.edgeClass,
    logger,
  );
  await Promise.all(models.names().map((m) => warmUp(models, policies.get(m), threads)));
  // A new policy's configurations are loaded right away, so requests do not pay for session creation.
  policies.onApplied = (policy) => {
    warmUp(models, policy, threads).catch((err) => logger.warn({ model: policy.model, err: (err as Error).message }, 'warm-up failed'));
  };
  // Policies applied and refused, retained for the optimizer (node-runtime/announce.ts).
  policies.onStatus = (status) => runtime.announcer.publishStatus(status);
  runtime.announcer.publishStatus(policies.status());
  // An emulated link (demo, tests) adds the time a real uplink would take; its figures then say so.
  const transport = shapeTransport(runtime.transport, { mbps: options.linkMbps, rttMs: options.linkRttMs });
  const bounds = { capacity: options.dedupeWindow, maxBytes: options.journalMaxBytes };
  const { log: requests, recovered } = options.stateDir
    ? RequestLog.open({ ...bounds, dir: options.stateDir, logger, fs: deps.journalFs })
    : { log: new RequestLog(bounds), recovered: undefined };
  const accounting = new Accounting(runtime.hardware, deps.metrics, models, { ...options, threads }, logger);
  const node = new EdgeService(options, threads, logger, models, policies, transport, runtime.hardware, accounting, requests, runtime.cards);
  try {
    await node.connect();
  } catch (err) {
    // Its MQTT client would go on reconnecting, and frames a persistent session delivers would
    // run on sessions the failed start closes: the process must be able to end.
    await node.close();
    throw err;
  }
  if (recovered) node.recover(recovered);
  // Subscribed: a frame a sensor publishes from now on reaches an edge (docs/protocol.md).
  runtime.announcer.serving();
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
  readonly #queue: FairQueue;
  readonly #rates: RateLimiter;
  /** The node's compute slots (options.concurrency): admission and edge compute run in one. */
  readonly #computing: Limiter;
  readonly #tailEstimates = new Map<string, number>();
  readonly #turns = new Map<string, number>();
  readonly #context: ExecuteContext;
  #closing: Promise<void> | undefined;
  /** A durable node's PUBACKs, each held until its frame is flushed; undefined for a node without a journal. */
  #acks: AckHolder | undefined;
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
    /** The models' cards: how a frame's image becomes an input, what the outputs mean. */
    readonly cards: ModelCards,
  ) {
    const slots = Math.max(options.maxInFlight, options.concurrency);
    this.#queue = new FairQueue({
      slots, perSensor: Math.min(options.maxSensorInFlight, slots), maxQueued: options.maxQueue, maxQueuedPerSensor: Math.min(options.maxSensorQueue, options.maxQueue),
    });
    // Unbounded wait: the queue above bounds what can be waiting here.
    this.#computing = new Limiter(options.concurrency, Number.POSITIVE_INFINITY);
    this.#rates = new RateLimiter(options.maxSensorRate);
    this.#context = {
      models,
      transport,
      hardware,
      edgeId: options.edgeId,
      threads,
      minCloudWaitMs: options.minCloudWaitMs,
      now: wallClockMs,
      computeSlot: () => this.#computing.acquire(),
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
   * keeps its frames while it is away. Its 'message' handler journals the frame, or answers it (a
   * refusal, published before the PUBACK on the same connection); the frame's PUBACK is held until
   * the journal has flushed it (common/held-acks.ts), and a refusal of a frame whose flush failed is
   * published before it: a PUBACK never covers a frame the node could lose. The frames arriving
   * meanwhile are read and share the next flush.
   */
  async connect(): Promise<void> {
    await connectMqtt(this.options.mqttUrl, {
      clientId: this.options.edgeId,
      clean: !this.requests.durable,
      ...this.options.mqttTls,
      logger: this.logger,
      prepare: (client) => {
        this.mqtt = client;
        if (this.requests.durable) this.#acks = holdAcks(client);
        client.on('message', (topic, payload, packet) => this.#onMessage(topic, payload, packet));
      },
    });
    // Policies first, so retained policies are in place before the first frame is handled.
    await subscribeAcrossReconnects(this.mqtt, this.policies.topics(), { qos: 1 });
    await subscribeAcrossReconnects(this.mqtt, topics.framesShared(this.options.group), { qos: 1 });
    const control = await subscribeAcrossReconnects(this.mqtt, topics.controlFramesShared(this.options.group), { qos: 1 }).catch((err: Error) => err);
    if (control instanceof Error || control.some((grant) => grant.qos === 128)) {
      this.logger.warn({ err: control instanceof Error ? control.message : 'refused by the broker' }, 'control channel not granted: forced configurations (profiling) are not served');
    }
    this.logger.info({ models: this.models.names(), group: this.options.group, transport: this.transport.kind, durable: this.requests.durable },
      'edge node serving');
  }

  /** Finishes what the node had taken before it stopped: results to send again, frames to run (each a bounded number of times). */
  recover(recovered: Recovered): void {
    for (const { key, sensorId, result } of recovered.unsent) this.#publish(sensorId, result, key);
    for (const { key, sensorId, payload, replays } of recovered.frames) {
      this.#guard(sensorId, () => {
        if (replays >= this.options.maxReplays) {
          const { origin } = takeFrame(sensorId, payload, { maxBytes: this.options.maxFrameBytes, limits: this.options.limits, nowMs: Date.now(), control: true });
          this.#answerError(sensorId, new DynasplitError(ErrorCodes.REPLAY_LIMIT,
            `frame was run again after ${replays} restarts without being answered; dropped`, { details: { replays, limit: this.options.maxReplays } }), origin, key);
          return;
        }
        this.requests.replaying(key);
        this.#accept(sensorId, payload, { replayed: true });
      });
    }
  }

  #onMessage(topic: string, payload: Buffer, packet: IPublishPacket): void {
    if (this.policies.handle(topic, payload)) return;
    const control = topics.sensorOfControlFrames(topic);
    const sensorId = control ?? topics.sensorOfFrames(topic);
    if (sensorId === undefined) {
      this.stats.frame();
      this.stats.error(ErrorCodes.BAD_FRAME);
      this.logger.warn({ topic: topic.slice(0, 200) }, 'message on an unexpected topic: not answerable, dropped');
      return;
    }
    this.#guard(sensorId, () => this.#accept(sensorId, payload, { control: control !== undefined, packet }));
  }

  /** Runs `work` for one frame; an exception it throws answers the frame (DYNASPLIT_ERR_INTERNAL) instead of reaching the MQTT client. */
  #guard(sensorId: string, work: () => void): void {
    try {
      work();
    } catch (err) {
      this.logger.error({ sensor: sensorId, err: (err as Error)?.stack ?? String(err) }, 'unexpected exception while taking a frame');
      this.#answerError(sensorId, new DynasplitError(ErrorCodes.INTERNAL, `edge node failed on this frame: ${(err as Error)?.message}`, { cause: err }));
    }
  }

  /**
   * Takes one frame: answered exactly once, now (refused) or when it has run. `replayed`: recovered
   * from the journal; `packet`: the MQTT message it came in (its PUBACK is held until it is durable).
   */
  #accept(sensorId: string, payload: Uint8Array, { replayed = false, control = false, packet }: { replayed?: boolean; control?: boolean; packet?: IPublishPacket }): void {
    const arrivedAt = performance.now();
    this.stats.frame();
    // Every limit first, on the wire bytes: a refusal names its request without echoing what is over a limit.
    const taken = takeFrame(sensorId, payload, { maxBytes: this.options.maxFrameBytes, limits: this.options.limits, nowMs: Date.now(), control: control || replayed });
    const { origin } = taken;
    // A frame without a request id cannot be a duplicate of anything: admit() refuses it.
    const key = origin.requestId ? `${sensorId}/${origin.requestId}` : undefined;
    if (key && !replayed) {
      const seen = this.requests.peek(key);
      if (seen) {
        this.stats.duplicate();
        if (seen.result) this.#publish(sensorId, seen.result);
        if (seen.durable && packet) this.#acks?.hold(packet, seen.durable);
        return;
      }
    }
    const refusal = taken.error ?? this.#refusal(sensorId, replayed);
    if (refusal) return this.#answerError(sensorId, refusal, origin, key);
    let durable: Promise<boolean> | undefined;
    if (key && !replayed) {
      try {
        durable = this.#flushed(this.requests.check(key, sensorId, payload).durable, sensorId, origin);
      } catch (err) {
        // Not taken (the journal cannot hold it): answered, but not remembered, so the sensor may send it again.
        return this.#answerError(sensorId, err, origin, isDynasplitError(err, ErrorCodes.STORAGE) ? undefined : key);
      }
      if (durable && packet) this.#acks?.hold(packet, durable);
    }
    // #handle answers every failure itself; admission was checked above, so the queue takes it. A
    // frame waiting for its flush holds its place in the queue, and runs only once it is durable.
    const handle = () => this.#handle(sensorId, taken.frame!, arrivedAt, key);
    const run = durable ? async () => { if (await durable) await handle(); } : handle;
    this.#queue.run(sensorId, run).catch((err) => this.#answerError(sensorId, err, origin, key));
  }

  /** Whether a frame's journal flush succeeded; when it failed the frame is refused (STORAGE, not remembered) before this settles, so before its PUBACK. */
  #flushed(durable: Promise<void> | undefined, sensorId: string, origin: FrameOrigin): Promise<boolean> | undefined {
    return durable?.then(() => true, (err: unknown) => {
      this.#answerError(sensorId, err, origin);
      return false;
    });
  }

  /** Why a frame that passed its limits is not taken now: the node is closing, the sensor's rate, the sensor's share of the queue. */
  #refusal(sensorId: string, replayed: boolean): DynasplitError | undefined {
    if (this.#closing) return new DynasplitError(ErrorCodes.CLOSED, 'edge node is shutting down', { retryable: true });
    if (!replayed && !this.#rates.take(sensorId, Date.now())) {
      return new DynasplitError(ErrorCodes.RATE_LIMITED, `sensor ${sensorId} exceeds ${this.options.maxSensorRate} frames/s`, { retryable: true });
    }
    return this.#queue.refusal(sensorId);
  }

  async #handle(sensorId: string, frame: Frame, arrivedAt: number, key: string | undefined): Promise<void> {
    const origin = { sensorId, requestId: frame.request_id, model: frame.model, budgetMs: frame.budget_ms };
    // The configuration a failure happened under: its metric names it, so the optimizer sees which ones fail.
    let chosen: Entry | undefined;
    // Admission (decoding, preprocessing) takes a compute slot, and the head runs in the same one
    // (execute releases it before the cloud is waited on): a frame queues once, not again behind
    // the frames that arrived while it was admitted.
    let slot: Slot | undefined;
    try {
      slot = await this.#computing.acquire();
      // Queueing: until the frame gets its compute slot; the waits after it come with the outcome (Outcome.waitMs).
      const queueMs = performance.now() - arrivedAt;
      const req = await admit(frame, sensorId, this.models, wallClockMs(), this.cards);
      const aheadMs = clockAheadMs(req.captureAtMs, wallClockAt(arrivedAt));
      if (aheadMs > 0) {
        this.logger.warn({ sensorId, aheadMs: Math.round(aheadMs) },
          'a sensor stamps its frames ahead of this node\'s clock: their end-to-end latency counts from their arrival here (a lower bound); synchronise the clocks (NTP)');
      }
      const mark = this.accounting.start();
      const started = performance.now();
      const policy = this.policies.get(req.model);
      const turn = this.#turns.get(req.model) ?? 0;
      this.#turns.set(req.model, turn + 1);
      const entry = req.forced ?? decide(policy, req.deadlineAtMs - wallClockMs(), { accuracyFloor: req.accuracyFloor, turn })!;
      chosen = entry;
      const outcome = await execute(req, entry, this.#context, slot);
      const outputsAt = performance.now();
      const energy = await this.accounting.energy(mark, outcome, performance.now() - started, entry);
      const link = this.options.linkMbps > 0 || this.options.linkRttMs > 0 ? 'emulated' : 'measured';
      const latencySource = outcome.workerId
        ? combinedSource(combinedSource(this.hardware.latencySource, outcome.cloudLatencySource), link)
        : this.hardware.latencySource;
      const result = successResult(req, entry, outcome, { arrivedAt, queueMs, outputsAt, energy, latencySource }, { edgeId: this.options.edgeId, topK: this.options.topK });
      this.stats.result(result, outcome.fallbackCode);
      if (result.edge_fallback) {
        // An operator must see why the cloud gets no traffic (the repeat filter keeps one line per cause and window).
        // The worker that refused (a mismatched model, a failed tail) is named; a timeout names none.
        this.logger.warn({
          model: req.model, cut: entry.configuration.cut, code: outcome.fallbackCode, requestId: req.requestId,
          worker: outcome.fallbackWorkerId || undefined, reason: outcome.fallbackMessage,
        }, 'the cloud did not answer; the edge ran the tail');
      }
      this.#answer(sensorId, result, key);
      this.accounting.record(result, req, outcome);
    } catch (err) {
      this.#answerError(sensorId, err, origin, key, chosen?.configuration);
    } finally {
      slot?.release();
    }
  }

  /** Answers a frame with a coded error; never throws (a failure to answer is logged and counted). */
  #answerError(sensorId: string, err: unknown, origin?: FrameOrigin, key?: string, configuration?: Entry['configuration']): void {
    const code = isDynasplitError(err) ? err.code : ErrorCodes.INFERENCE;
    this.stats.error(code);
    this.logger.warn({ sensor: sensorId, request: origin?.requestId, code, err: (err as Error)?.message }, 'request failed');
    try {
      const result = errorResult({ sensorId, requestId: origin?.requestId ?? '', model: origin?.model ?? '', budgetMs: origin?.budgetMs ?? 0 }, err, {
        edgeId: this.options.edgeId, topK: this.options.topK,
      });
      if (configuration) result.configuration = configuration;
      this.accounting.record(result);
      this.#answer(sensorId, result, key);
    } catch (failure) {
      this.stats.error(ErrorCodes.INTERNAL);
      this.logger.error({ sensor: sensorId, request: origin?.requestId, err: (failure as Error)?.message }, 'error result could not be sent');
    }
  }

  /** Publishes the answer to a request, remembered under `key` (so a duplicate gets it again). */
  #answer(sensorId: string, result: ResultProperties, key: string | undefined): void {
    const bytes = encodeMessage(Result, result);
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
      // A durable node keeps its subscriptions: the broker holds frames for it until it is back.
      if (!this.requests.durable) {
        await this.mqtt.unsubscribeAsync([topics.framesShared(this.options.group), topics.controlFramesShared(this.options.group)]).catch(() => undefined);
      }
      const grace = this.options.closeGraceMs;
      if (!(await settlesWithin(this.#queue.drain(), grace))) {
        this.logger.warn({ inProgress: this.#queue.active, waiting: this.#queue.queued, graceMs: grace },
          this.requests.durable ? 'stopping with frames in progress: the journal runs them again at the next start'
            : 'stopping with frames in progress: they are not answered');
      }
      await endMqtt(this.mqtt, grace);
      this.requests.close();
      this.logger.info(this.stats.snapshot(this.policies.stats()), 'edge node closed');
    })();
    return this.#closing;
  }
}
