/**
 * `npm run bench`: every benchmark of the project, in one run, on this machine. Each table says what
 * it measured and next to which baseline. Pass section names to run only some: `npm run bench -- codecs`.
 * `pipeline` also takes `--full` (VGG16 across separate processes) and `--json` (bench/pipeline-processes.ts);
 * `scale` takes `--step-s N`, `--sensors 10,100,1000`, `--period-s P` and `--warm-up-blocks B` (bench/scale.ts).
 */
import { benchCodecs } from './codecs.ts';
import { benchDurable } from './durable.ts';
import { benchCutLatency, benchSplitVgg16 } from './model.ts';
import { benchEval } from './eval.ts';
import { pipelineGoals, printGoals } from './goals.ts';
import { benchMessaging } from './messaging.ts';
import { benchMetrics } from './metrics.ts';
import { benchOptimizer } from './optimizer.ts';
import { benchPipeline } from './pipeline.ts';
import { benchPipelineProcesses } from './pipeline-processes.ts';
import { benchScale } from './scale.ts';

const SECTIONS: Record<string, () => Promise<void>> = {
  'cuts': async () => {
    await benchCutLatency('vgg16-tiny');
    await benchCutLatency('vit-tiny');
  },
  'codecs': benchCodecs,
  'split': benchSplitVgg16,
  'pipeline': async () => {
    const separateProcesses = await benchPipelineProcesses();
    const oneProcess = await benchPipeline();
    const goals = pipelineGoals(separateProcesses);
    printGoals(goals);
    // For machines: every figure of both tables and the goals, the section's last line.
    if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify({ ...separateProcesses, oneProcess, goals })}\n`);
  },
  'messaging': async () => { await benchMessaging(); },
  'durable': async () => { await benchDurable(); },
  'scale': async () => { await benchScale(); },
  'metrics': benchMetrics,
  'optimizer': benchOptimizer,
  'eval': benchEval,
};

// Flags (`--full`, `--json`) are for the sections that read them; the rest are section names.
// Flags that take a value: the value is no section name.
const VALUE_FLAGS = new Set(['--step-s', '--sensors', '--period-s', '--warm-up-blocks', '--base', '--broker', '--rounds', '--messages', '--legs', '--payloads', '--in-flight', '--gap-ms']);
const args = process.argv.slice(2);
const wanted = args.filter((a, i) => !a.startsWith('--') && !VALUE_FLAGS.has(args[i - 1]));
const unknown = wanted.filter((w) => !(w in SECTIONS));
if (unknown.length > 0) {
  console.error(`unknown bench section(s): ${unknown.join(', ')}; sections: ${Object.keys(SECTIONS).join(', ')}`);
  process.exit(2);
}
console.log(`# dynasplit benchmarks — node ${process.version}, ${new Date().toISOString()}`);
for (const [name, run] of Object.entries(SECTIONS)) {
  if (wanted.length === 0 || wanted.includes(name)) await run();
}
