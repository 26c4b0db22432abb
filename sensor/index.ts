/** The sensor component: a frame generator and result collector for tests, demos and load. */
export { runSensor } from './sensor.ts';
export type { SensorDeps } from './sensor.ts';
export { drainMsFor, parseSensorOptions, defaultSensorOptions } from './options.ts';
export type { SensorOptions } from './options.ts';
export { summarizeRun } from './summary.ts';
export type { RunSummary } from './summary.ts';
