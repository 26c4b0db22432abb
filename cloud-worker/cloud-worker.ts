/**
 * The cloud worker: serves the tails of its models to edge nodes through a TensorTransport. Workers
 * in one group share the requests; each runs at most `concurrency` tails at once and measures how
 * long a request waited, decoded, ran and encoded, which the edge turns into the link's share.
 */
import * as ort from 'onnxruntime-node';
import { decodeTensor, encodeTensor } from '../codec/index.ts';
import { DynasplitError, ErrorCodes, isDynasplitError, Limiter, silentLogger, type Logger } from '../common/index.ts';
import { HOST_PROFILE, startNodeHardware, type DeviceProfile } from '../hardware/index.ts';
import { ModelStore, resolveModel, SessionCache } from '../model/index.ts';
import type { TailReplyProperties, TailRequest } from '../schemas/index.ts';
import { createMqttTransport, createNatsTransport, type Serving, type TensorTransport } from '../transport/index.ts';
import { parseCloudOptions, type CloudWorkerOptions } from './options.ts';

export interface CloudWorkerDeps {
  logger?: Logger;
  /** A transport to use instead of creating one (then close() leaves it open). */
  transport?: TensorTransport;
  /** A calibrated host profile to reuse (otherwise calibrated once per process). */
  host?: DeviceProfile;
}

export interface CloudWorkerStats { requests: number; replies: number; errors: Record<string, number>; active: number; queued: number }

export interface CloudWorker {
  readonly workerId: string;
  stats(): CloudWorkerStats;
  /** Stops taking requests, answers those taken, disconnects. Idempotent. */
  close(): Promise<void>;
}

export async function startCloudWorker(partial: Partial<CloudWorkerOptions>, deps: CloudWorkerDeps = {}): Promise<CloudWorker> {
  const options = parseCloudOptions(partial);
  // An emulating node runs its host sessions on one thread: the device's threads are modelled in the
  // dilation, and one host thread keeps sessions from contending for cores (jitter the dilation would amplify).
  if (!options.threads && options.profile !== HOST_PROFILE) options.threads = 1;
  const logger = (deps.logger ?? silentLogger()).child({ component: 'cloud-worker', node: options.workerId });
  const sessions = new SessionCache({
    memoryBudgetBytes: options.memoryBudgetMb * 1024 * 1024,
    threads: options.threads,
    executionProvider: options.executionProvider,
    onFallback: (message) => logger.warn(message),
  });
  const models = new ModelStore({ workDir: options.workDir, sessions });
  for (const [name, spec] of Object.entries(options.models)) {
    await models.add(name, await resolveModel(spec, { cacheDir: options.modelCacheDir }));
  }
  const hardware = await startNodeHardware({
    profile: options.profile, energyMeter: options.energyMeter, powerMeterUrl: options.mqttUrl, powerMeterTopic: options.powerMeterTopic,
    host: deps.host, logger,
  });
  const transport = deps.transport ?? await (options.transport === 'nats'
    ? createNatsTransport({ servers: options.natsUrl.split(','), name: options.workerId, logger, ...options.natsAuth })
    : createMqttTransport({ url: options.mqttUrl, clientId: options.workerId, logger, tls: options.mqttTls }));
  const stats: CloudWorkerStats = { requests: 0, replies: 0, errors: {}, active: 0, queued: 0 };
  const slots = new Limiter(options.concurrency, options.maxQueue);
  const handler = async (request: TailRequest): Promise<TailReplyProperties> => {
    const receivedAt = Date.now();
    const arrived = performance.now();
    stats.requests++;
    try {
      if (request.deadline_at_ms && request.deadline_at_ms <= receivedAt) {
        throw new DynasplitError(ErrorCodes.EXPIRED, `request ${request.request_id} reached the worker after its deadline`);
      }
      return await slots.run(() => runTail(request, arrived, receivedAt));
    } catch (err) {
      const code = isDynasplitError(err) ? err.code : ErrorCodes.INFERENCE;
      stats.errors[code] = (stats.errors[code] ?? 0) + 1;
      logger.warn({ request: request.request_id, model: request.model, code, err: (err as Error).message }, 'tail request failed');
      return { request_id: request.request_id, worker_id: options.workerId, received_at_ms: receivedAt, error: { code, message: (err as Error).message } };
    } finally {
      stats.active = slots.active;
      stats.queued = slots.queued;
    }
  };
  const runTail = async (request: TailRequest, arrived: number, receivedAt: number): Promise<TailReplyProperties> => {
    const queueMs = performance.now() - arrived;
    const t0 = performance.now();
    if (!request.tensor) throw new DynasplitError(ErrorCodes.BAD_TENSOR, `request ${request.request_id} carries no tensor`);
    const input = decodeTensor(request.tensor);
    const t1 = performance.now();
    const served = models.get(request.model);
    if (!served.cuts.includes(request.cut) || request.cut === 'output') {
      throw new DynasplitError(ErrorCodes.UNKNOWN_CUT, `${request.model} has no tail at '${request.cut}'`, { details: { cut: request.cut } });
    }
    // This request's share of the node: it ran alongside the others active at its start.
    const share = 1 / Math.max(1, slots.active);
    const mark = hardware.meter.start();
    const output = await models.run(request.model, 'tail', request.cut, new ort.Tensor('float32', input.data, input.shape));
    const cut = request.cut === 'input' ? served.inspection.input : served.inspection.cutPoints.find((c) => c.name === request.cut);
    const hostMs = performance.now() - t1;
    const computeMs = await hardware.dilate(hostMs, { cloudMode: request.cloud_accelerator || undefined }, cut?.flopsAfter);
    const energy = await hardware.meter.stop(mark, { computeMs, idleMs: 0, cloudMode: request.cloud_accelerator || undefined, share });
    const t2 = performance.now();
    const encoded = encodeTensor({ name: 'output', shape: [...output.dims], data: output.data as Float32Array }, 'fp32');
    const t3 = performance.now();
    stats.replies++;
    return {
      request_id: request.request_id,
      output: encoded,
      worker_id: options.workerId,
      received_at_ms: receivedAt,
      queue_ms: queueMs,
      decode_ms: t1 - t0,
      compute_ms: computeMs,
      encode_ms: t3 - t2,
      energy_j: energy.joules,
      energy_source: energy.source,
      latency_source: hardware.latencySource,
      unemulated_ms: hardware.emulated ? Math.max(0, hostMs - computeMs) : 0,
    };
  };
  const serving: Serving = await transport.serve(handler, { models: models.names(), group: options.group });
  logger.info({ models: models.names(), transport: transport.kind, group: options.group }, 'cloud worker serving');
  let closing: Promise<void> | undefined;
  return {
    workerId: options.workerId,
    stats: () => ({ ...stats, errors: { ...stats.errors }, active: slots.active, queued: slots.queued }),
    close: () => {
      closing ??= (async () => {
        await serving.close();
        await slots.drain();
        if (!deps.transport) await transport.close();
        await sessions.close();
        models.removeParts();
        await hardware.close();
        logger.info({ ...stats }, 'cloud worker closed');
      })();
      return closing;
    },
  };
}
