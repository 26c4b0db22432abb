/**
 * What an edge node and a cloud worker set up the same way: the session cache and the model store
 * with the node's models, the node's hardware (profile, frequency, energy meter) and its tensor
 * transport, and its announcement (announce.ts). `close()` undoes it, once; a set-up that fails part-way undoes what it had done.
 */
import { redactUrl, silentLogger, type Logger } from '../common/index.ts';
import { startNodeHardware, type DeviceProfile, type NodeHardware } from '../hardware/index.ts';
import { ModelStore, SessionCache } from '../model/index.ts';
import { connectLater, createMqttTransport, createNatsTransport, type TensorTransport } from '../transport/index.ts';
import { startAnnouncer, type Announcer } from './announce.ts';
import { addModels, type ModelCards } from './models.ts';
import { DEFAULT_INFERENCE_THREAD, type NodeOptions } from './options.ts';
import { sessionThreads } from './threads.ts';

export interface NodeRuntimeOptions extends NodeOptions {
  /**
   * 'edge' opens its transport as an edge (MQTT: a client `ID-t` with reply topics of the edge `ID`,
   * beside the node's own frames client `ID`); 'worker' as a worker (client `ID`).
   */
  role: 'edge' | 'worker';
  /** The node's id: edgeId or workerId. */
  nodeId: string;
  /** What the node announces as its class: an edge's edge class, a worker's group. */
  nodeClass: string;
  /** onnxruntime execution provider; default 'cpu'. */
  executionProvider?: string;
  /** Root of the cpufreq sysfs tree; default /sys. */
  sysfsRoot?: string;
}

export interface NodeRuntimeDeps {
  /** The node's logger (already a child naming the component and node). */
  logger?: Logger;
  /** A transport to use instead of opening one (then close() leaves it open). */
  transport?: TensorTransport;
  /** A calibrated host profile to reuse (otherwise calibrated once per process). */
  host?: DeviceProfile;
}

export interface NodeRuntime {
  /** Intra-op threads of the node's sessions (sessionThreads of the options). */
  readonly threads: number;
  readonly sessions: SessionCache;
  readonly models: ModelStore;
  /** The models' cards (node-runtime/models.ts), checked against their models at start. */
  readonly cards: ModelCards;
  readonly hardware: NodeHardware;
  readonly transport: TensorTransport;
  /** The node's announcement (node-runtime/announce.ts); its status goes out through it too. */
  readonly announcer: Announcer;
  /** Marks the node gone, closes the transport (unless handed in), the hardware and the sessions; removes split parts. Idempotent. */
  close(): Promise<void>;
}

export async function startNodeRuntime(options: NodeRuntimeOptions, deps: NodeRuntimeDeps = {}): Promise<NodeRuntime> {
  const logger = deps.logger ?? silentLogger();
  const threads = sessionThreads(options);
  const sessions = new SessionCache({
    memoryBudgetBytes: options.memoryBudgetMb * 1024 * 1024,
    threads,
    thread: options.inferenceThread ?? DEFAULT_INFERENCE_THREAD,
    executionProvider: options.executionProvider,
    onFallback: (message) => logger.warn(message),
  });
  const models = new ModelStore({ workDir: options.workDir, sessions });
  // Undo steps, last first: on a failed set-up and on close.
  const undo: Array<() => Promise<void> | void> = [() => models.removeParts(), () => sessions.close()];
  const unwind = async () => {
    for (const step of undo.splice(0).reverse()) await step();
  };
  try {
    const cards = await addModels(models, options, logger);
    const hardware = await startNodeHardware({
      profile: options.profile, energyMeter: options.energyMeter, powerMeterUrl: options.mqttUrl, powerMeterTopic: options.powerMeterTopic,
      sysfsRoot: options.sysfsRoot, host: deps.host, logger,
    });
    undo.push(() => hardware.close());
    const transport = deps.transport ?? await openTransport(options, logger);
    if (!deps.transport) undo.push(() => transport.close());
    const announcer = startAnnouncer({
      mqttUrl: options.mqttUrl, mqttTls: options.mqttTls, role: options.role === 'edge' ? 'edge' : 'cloud', nodeId: options.nodeId, nodeClass: options.nodeClass,
      profile: hardware.profile, models: models.names().map((name) => ({ name, cuts: models.get(name).cuts })), energySource: hardware.meter.source,
    }, logger);
    undo.push(() => announcer.close());
    let closing: Promise<void> | undefined;
    return { threads, sessions, models, cards, hardware, transport, announcer, close: () => (closing ??= unwind()) };
  } catch (err) {
    await unwind().catch((cleanup: unknown) => logger.warn({ err: (cleanup as Error).message }, 'clean-up after a failed start failed'));
    throw err;
  }
}

function openTransport(options: NodeRuntimeOptions, logger: Logger): Promise<TensorTransport> {
  if (options.transport === 'nats') {
    const connect = () => createNatsTransport({ servers: options.natsUrl.split(','), name: options.nodeId, logger, ...options.natsAuth });
    // An edge serves without its cloud: one started before the NATS server (or its uplink) is up finishes requests itself meanwhile.
    return options.role === 'edge' ? connectLater(connect, { kind: 'nats', target: `NATS at ${options.natsUrl.split(',').map(redactUrl).join(',')}` }, logger) : connect();
  }
  return options.role === 'edge'
    ? createMqttTransport({ url: options.mqttUrl, edgeId: options.nodeId, clientId: `${options.nodeId}-t`, logger, tls: options.mqttTls })
    : createMqttTransport({ url: options.mqttUrl, clientId: options.nodeId, logger, tls: options.mqttTls });
}
