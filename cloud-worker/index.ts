/** The cloud worker component. */
export { startCloudWorker } from './cloud-worker.ts';
export type { CloudWorker, CloudWorkerDeps, CloudWorkerStats } from './cloud-worker.ts';
export { parseCloudOptions, defaultCloudOptions } from './options.ts';
export type { CloudWorkerOptions } from './options.ts';
