/**
 * `dynasplit demo` (`npm start`): the whole pipeline in one process on the embedded default — an
 * aedes broker on an ephemeral loopback port, a cloud worker and an edge node talking through it,
 * and a sensor sending frames (through client/ FrameClient) — then the sensor's summary. Real broker, real protobuf on the wire,
 * real ONNX inference; only the servers are in-process.
 */
import { startBroker } from '../broker/index.ts';
import { startCloudWorker } from '../cloud-worker/index.ts';
import { startEdgeNode } from '../edge-node/index.ts';
import { runSensor } from '../sensor/index.ts';
import { BUDGET_SPECS } from '../workload/index.ts';
import { stringOption, type Command } from './command.ts';
import { processHost } from '../hardware/index.ts';
import { startOptimizer } from '../optimizer/index.ts';
import { LOG_LEVEL_OPTION, loggerFor, METRICS_OPTION, metricsStoreFlag, modelCacheDir, numberFlag } from './env.ts';
import { sensorProgress, summaryText } from './summary-format.ts';

export const demoCommand: Command = {
  path: ['demo'],
  summary: 'run broker, cloud worker, edge node and sensor in one process and print the summary',
  usage: '',
  positionals: { min: 0, max: 0 },
  options: {
    model: { type: 'string', value: 'NAME', description: 'zoo model (generated on first use and cached)', default: 'vgg16-tiny' },
    count: { type: 'string', value: 'N', description: 'frames to send', default: '200' },
    rate: { type: 'string', value: 'HZ', description: 'frames per second', default: '100' },
    budgets: { type: 'string', value: 'DIST', description: `latency budgets, ms: ${BUDGET_SPECS}`, default: 'uniform:2:20' },
    'edge-profile': { type: 'string', value: 'NAME', description: 'device the edge node emulates (host: this machine as it is)', default: 'rpi4' },
    'cloud-profile': { type: 'string', value: 'NAME', description: 'device the cloud worker emulates (host: this machine as it is)', default: 'gpu-server' },
    metrics: METRICS_OPTION,
    optimize: { type: 'boolean', description: 'also run the live optimizer in-process: after its first round the edge follows its policies' },
    json: { type: 'boolean', description: 'print the summary as JSON on stdout' },
    'log-level': { ...LOG_LEVEL_OPTION, default: 'warn' },
  },
  details: 'The edge node follows its built-in policy, which rotates through edge-only, one split and cloud-only.\n' +
    'By default the edge node emulates a Raspberry Pi 4 and the cloud worker a GPU server: compute times are\n' +
    "dilated to those devices' (emulated) and energy comes from their profiles (modelled).",
  async run(args, io) {
    const logger = loggerFor(args, 'warn');
    const model = stringOption(args, 'model') ?? 'vgg16-tiny';
    const cacheDir = modelCacheDir();
    const edgeProfile = stringOption(args, 'edge-profile') ?? 'rpi4';
    const cloudProfile = stringOption(args, 'cloud-profile') ?? 'gpu-server';
    io.stderr(`embedded pipeline: broker, cloud worker, edge node and sensor in this process; model ${model}\n` +
      `edge node: ${describeProfile(edgeProfile)}; cloud worker: ${describeProfile(cloudProfile)}\n`);
    const metrics = metricsStoreFlag(args, logger);
    const host = await processHost();
    const broker = await startBroker({ host: '127.0.0.1', port: 0 }, { logger });
    const closers: (() => Promise<void>)[] = [() => broker.close(), () => metrics.close()];
    try {
      const models = { [model]: model };
      const cloud = await startCloudWorker({ workerId: 'demo-cloud', mqttUrl: broker.url, models, modelCacheDir: cacheDir, profile: cloudProfile }, { logger, host });
      closers.unshift(() => cloud.close());
      const edge = await startEdgeNode({ edgeId: 'demo-edge', mqttUrl: broker.url, models, modelCacheDir: cacheDir, profile: edgeProfile }, { logger, host, metrics });
      closers.unshift(() => edge.close());
      if (args.values.optimize) {
        const optimizer = await startOptimizer({
          mqttUrl: broker.url, models, edgeProfile, cloudProfile,
          intervalMs: 500, windowMs: 3_000, modelCacheDir: cacheDir,
        }, { metrics, logger });
        closers.unshift(() => optimizer.close());
        await optimizer.round();
        io.stderr('live optimizer: running; its first policy is published\n');
      }
      const summary = await runSensor({
        sensorId: 'demo-sensor',
        mqttUrl: broker.url,
        model,
        count: numberFlag(args, 'count'),
        rate: numberFlag(args, 'rate'),
        budgets: stringOption(args, 'budgets'),
        modelCacheDir: cacheDir,
      }, { logger, onProgress: sensorProgress(io) });
      io.stdout(args.values.json ? `${JSON.stringify(summary, null, 2)}\n` : summaryText(summary));
      return summary.results + summary.errors === summary.requests ? 0 : 1;
    } finally {
      for (const close of closers) await close();
    }
  },
};

function describeProfile(name: string): string {
  return name === 'host'
    ? 'this machine (compute times measured; energy modelled from host estimates)'
    : `emulated ${name} (compute times dilated to the device's: emulated; energy from its profile: modelled)`;
}
