/**
 * What each request cost and how well it did, on the way out: the edge's energy from its meter plus
 * the cloud's share from the worker's reply, one RequestMetric (and a LinkMetric when a tensor
 * crossed the link) per answered request, and, on a sampled share of requests, agreement with the
 * unsplit model (judged by the answer's kind, as verify and profiling judge it: answerKind). Nothing here delays the result to the sensor, nor the requests behind it.
 *
 * The unsplit model's answer is the edge's tail over the cut tensor exactly as its head computed it
 * (head + tail is the unsplit model; only the codec and the cloud stand between it and the result):
 * the check costs a tail, not a whole model. A whole-model session beside the head and the tail would
 * also need their weights again (VGG16: 553 MB against a 1 GiB default budget, so loading it evicted
 * the parts the next frame needed) and its first load took seconds, paid by the frame behind it.
 *
 * The tail runs in a worker thread (the fallbacks' own session where the node computes in workers):
 * on the event loop, onnxruntime's synchronous run held every frame that arrived meanwhile for a whole
 * tail (VGG16 at pool3: ~75 ms on 5% of requests, which set the p95 of the frame leg). Its session is
 * never loaded at the price of another: where it fits only by evicting one, the sample goes unchecked.
 */
import { ErrorCodes, isDynasplitError, type Logger } from '../common/index.ts';
import type { EnergyMark, NodeHardware } from '../hardware/index.ts';
import type { FigureSource, MetricsStore } from '../metrics/index.ts';
import { answerKind, answerOf, resultClass, type ModelStore } from '../model/index.ts';
import type { Entry } from '../policy/index.ts';
import type { ResultProperties } from '../schemas/index.ts';
import { hostThreads, type Outcome } from './execute.ts';
import type { Admitted } from './frames.ts';

export interface AccountingOptions { edgeId: string; edgeClass: string; agreementSampleRate: number; threads: number }

/** Weakest first: a total with any modelled part is modelled. */
const STRENGTH: FigureSource[] = ['', 'modelled', 'emulated', 'measured'];

export function combinedSource(a: string, b: string): FigureSource {
  const rank = (s: string) => STRENGTH.indexOf(s as FigureSource);
  if (!a) return b as FigureSource;
  if (!b) return a as FigureSource;
  return rank(a) <= rank(b) ? (a as FigureSource) : (b as FigureSource);
}

export class Accounting {
  constructor(
    readonly hardware: NodeHardware,
    readonly metrics: MetricsStore | undefined,
    readonly models: ModelStore,
    readonly options: AccountingOptions,
    readonly logger: Logger,
  ) {}

  start(): EnergyMark {
    return this.hardware.meter.start();
  }

  /** The Energy of a result: the edge's reading over the request plus the cloud's share. */
  async energy(mark: EnergyMark, outcome: Outcome, elapsedMs: number, entry: Entry): Promise<NonNullable<ResultProperties['energy']>> {
    const config = entry.configuration;
    const edge = await this.hardware.meter.stop(mark, {
      computeMs: outcome.edgeComputeMs,
      // Host time beyond a faster emulated device's (edge or worker) is no part of the emulated request.
      idleMs: Math.max(0, elapsedMs - outcome.edgeComputeMs - outcome.unemulatedMs),
      frequencyMhz: config.edge_frequency_mhz || undefined,
      threads: config.edge_threads || undefined,
      accelerator: config.edge_accelerator || undefined,
    });
    const cloudSource = outcome.workerId ? outcome.cloudEnergySource : '';
    return {
      joules: edge.joules + (cloudSource ? outcome.cloudEnergyJ : 0),
      edge_joules: edge.joules,
      cloud_joules: cloudSource ? outcome.cloudEnergyJ : 0,
      // An offloaded request whose worker did not meter energy has no complete figure.
      source: outcome.workerId && !cloudSource ? '' : combinedSource(edge.source, cloudSource),
    };
  }

  /** Writes the request's metrics; on sampled requests first checks top-1 agreement (in the background). */
  record(result: ResultProperties, req?: Admitted, outcome?: Outcome): void {
    if (!this.metrics) return;
    const metric = requestMetric(result, this.options);
    // A transfer that ran out of time still says how slow the link was (a lower bound): keep it.
    if (outcome?.tensorBytes && (!outcome.edgeFallback || outcome.fallbackCode === 'DYNASPLIT_ERR_TIMEOUT')) {
      this.metrics.writeLink({ timeMs: metric.timeMs, edgeId: this.options.edgeId, bytes: outcome.tensorBytes, transferMs: outcome.transferMs, rttMs: outcome.roundTripMs });
    }
    const answered = (result.top_k?.length ?? 0) > 0 || (result.outputs?.length ?? 0) > 0;
    if (!req || metric.errorCode || !answered || !sampled(result.request_id ?? '', this.options.agreementSampleRate)) {
      this.metrics.writeRequest(metric);
      return;
    }
    this.#agreement(req, result, outcome)
      .then((agree) => this.metrics!.writeRequest(agree === undefined ? metric : { ...metric, top1Agreement: agree ? 1 : 0 }))
      .catch((err) => {
        this.logger.warn({ err: (err as Error).message }, 'agreement check failed');
        this.metrics!.writeRequest(metric);
      });
  }

  /**
   * Whether the result gives the unsplit model's answer: its top-1 class, or for a raw card its first
   * output's answer; undefined when the check found no room or the output is not judged (one float).
   */
  async #agreement(req: Admitted, result: ResultProperties, outcome: Outcome | undefined): Promise<boolean | undefined> {
    const config = result.configuration ?? {};
    // The edge computed the result itself (edge-only, or its tail after a fallback) from the exact cut
    // tensor: that is the unsplit model's answer.
    if (!outcome?.cutTensors) return true;
    const threads = hostThreads(config.edge_threads, this.options.threads);
    const outputs = await this.models.runAll(req.model, 'tail', config.cut ?? '', outcome.cutTensors, { threads, thread: 'worker', evict: false })
      .catch((err: unknown) => {
        if (!isDynasplitError(err, ErrorCodes.MEMORY_BUDGET)) throw err;
        this.logger.info({ model: req.model, cut: config.cut, err: err.message }, 'agreement check skipped: no room for its tail session');
        return undefined;
      });
    if (!outputs) return undefined;
    const { output } = req.card.loaded.card;
    const named = output.kind === 'classification' ? output.tensor : undefined;
    const reference = outputs[named ?? Object.keys(outputs)[0]];
    const kind = answerKind(reference.type, reference.size);
    if (kind === 'none') return undefined;
    return answerOf(kind, reference.data as ArrayLike<number | bigint>) === resultClass(result, named, kind);
  }
}

/** Deterministic sampling by request id, so a redelivered request is sampled the same way. */
function sampled(requestId: string, rate: number): boolean {
  if (rate <= 0) return false;
  let hash = 2166136261;
  for (let i = 0; i < requestId.length; i++) hash = Math.imul(hash ^ requestId.charCodeAt(i), 16777619);
  return ((hash >>> 0) % 10_000) < rate * 10_000;
}

function requestMetric(r: ResultProperties, o: AccountingOptions) {
  const c = r.configuration ?? {};
  const l = r.latency ?? {};
  return {
    timeMs: r.completed_at_ms ?? Date.now(),
    model: r.model ?? '',
    configuration: c.name ?? '',
    cut: c.cut ?? '',
    codec: c.codec ?? '',
    edgeId: o.edgeId,
    edgeClass: o.edgeClass,
    workerId: r.worker_id ?? '',
    sensorId: r.sensor_id ?? '',
    errorCode: r.error?.code ?? '',
    latencySource: (l.source ?? '') as FigureSource,
    energySource: (r.energy?.source ?? '') as FigureSource,
    endToEndMs: l.end_to_end_ms ?? 0,
    edgeComputeMs: l.edge_compute_ms ?? 0,
    encodeMs: l.encode_ms ?? 0,
    transferMs: l.transfer_ms ?? 0,
    cloudQueueMs: l.cloud_queue_ms ?? 0,
    cloudComputeMs: l.cloud_compute_ms ?? 0,
    budgetMs: r.budget_ms ?? 0,
    budgetMet: r.budget_met ?? false,
    edgeFallback: r.edge_fallback ?? false,
    tensorBytes: r.tensor_bytes ?? 0,
    energyJ: r.energy?.joules ?? 0,
    edgeEnergyJ: r.energy?.edge_joules ?? 0,
    cloudEnergyJ: r.energy?.cloud_joules ?? 0,
    frequencyMhz: c.edge_frequency_mhz ?? 0,
    // The threads the edge ran with: the configuration's, else the node's (hostThreads), never 0.
    threads: hostThreads(c.edge_threads, o.threads),
    accelerator: c.edge_accelerator ?? '',
    cloudMode: c.cloud_accelerator ?? '',
  };
}
