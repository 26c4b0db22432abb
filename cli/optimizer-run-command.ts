/** `dynasplit optimizer run`: the live optimizer as its own process. */
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import { startOptimizer } from '../optimizer/index.ts';
import { DECISION_RULES, type DecisionRule } from '../policy/index.ts';
import { stringOption, type Command } from './command.ts';
import {
  flagOrEnv, LOG_LEVEL_OPTION, loggerFor, METRICS_OPTION, metricsStoreFlag, MODEL_OPTION, modelCacheDir, modelsFlag, MQTT_OPTION, MQTT_TLS_OPTIONS, mqttTlsFlags, mqttUrlFlag, numberFlag,
  serveUntilSignal,
} from './env.ts';

export const optimizerRunCommand: Command = {
  path: ['optimizer', 'run'],
  summary: 'read live metrics, re-optimize the Pareto front, publish policies when the choice changes',
  usage: '',
  positionals: { min: 0, max: 0 },
  options: {
    mqtt: MQTT_OPTION,
    ...MQTT_TLS_OPTIONS,
    model: {
      ...MODEL_OPTION,
      description: 'model the edge nodes serve, whose configurations to optimize: a zoo name, or NAME=path/to/model.onnx for an ONNX file '
        + '(repeatable; env DYNASPLIT_MODELS, comma-separated; default vgg16-tiny)',
    },
    metrics: { ...METRICS_OPTION, description: 'where the edge nodes write their metrics: influxdb (INFLUX_* variables) (env DYNASPLIT_METRICS)' },
    edge: {
      type: 'string', value: 'PROFILE',
      description: 'device profile of the edge class, over what its nodes announce (default: the profile the nodes announce; \'host\' = this machine)',
    },
    cloud: { type: 'string', value: 'PROFILE', description: 'device profile of the cloud workers, over what they announce (default: the workers\' own)' },
    class: { type: 'string', value: 'CLASS', description: 'edge class the policies are for (default: every class that announces itself; \'default\' with --edge)' },
    interval: { type: 'string', value: 'MS', description: 'ms between rounds', default: '2000' },
    window: { type: 'string', value: 'MS', description: 'ms of recent metrics read each round', default: '10000' },
    memory: { type: 'string', value: 'MS', description: 'ms measurements of unused configurations are remembered', default: '60000' },
    hysteresis: { type: 'string', value: 'SHARE', description: 'share of budgets whose outcome must change before publishing', default: '0.1' },
    'link-mbps': { type: 'string', value: 'MBPS', description: 'the link\'s bandwidth until transfers are measured, and again once none has been for --memory', default: '100' },
    'link-rtt-ms': { type: 'string', value: 'MS', description: 'the link\'s round-trip time, likewise', default: '2' },
    rule: { type: 'string', value: 'RULE', description: `decision rule in the policies: ${DECISION_RULES.join(', ')}`, default: 'energy-first' },
    codecs: { type: 'string', value: 'LIST', description: 'codecs the policies may use, comma-separated (default all)' },
    'log-level': LOG_LEVEL_OPTION,
  },
  details: 'Metrics must come from a store the edge nodes also write to (InfluxDB); an embedded store is per process. '
    + 'The configurations come from what the edge nodes and cloud workers announce (their device profiles, models and cuts): '
    + 'without announcements and without --edge/--cloud the optimizer waits for them. Its status is retained on dynasplit/v1/optimizer-status/ID.',
  async run(args) {
    const mqttUrl = mqttUrlFlag(args);
    const logger = loggerFor(args);
    if ((flagOrEnv(args, 'metrics', 'DYNASPLIT_METRICS') ?? 'embedded') === 'embedded') {
      throw new DynasplitError(ErrorCodes.BAD_ARGS,
        'optimizer run needs the metrics the edge nodes write: use --metrics influxdb (an embedded store only sees its own process; `dynasplit demo --optimize` runs the optimizer in-process)');
    }
    const metrics = metricsStoreFlag(args, logger);
    await metrics.ready({ read: true }); // a store that cannot take writes or be read stops the command here, with the fix in one line
    const rule = stringOption(args, 'rule');
    const optimizer = await startOptimizer({
      mqttUrl,
      mqttTls: await mqttTlsFlags(args),
      models: modelsFlag(args),
      edgeProfile: stringOption(args, 'edge'),
      cloudProfile: stringOption(args, 'cloud'),
      edgeClass: stringOption(args, 'class'),
      intervalMs: numberFlag(args, 'interval'),
      windowMs: numberFlag(args, 'window'),
      memoryMs: numberFlag(args, 'memory'),
      hysteresis: numberFlag(args, 'hysteresis'),
      linkMbps: numberFlag(args, 'link-mbps'),
      linkRttMs: numberFlag(args, 'link-rtt-ms'),
      rule: rule as DecisionRule | undefined,
      codecs: stringOption(args, 'codecs')?.split(',').filter(Boolean),
      modelCacheDir: modelCacheDir(),
    }, { metrics, logger });
    return serveUntilSignal(logger, () => optimizer.close(), () => metrics.close());
  },
};
