export { DynasplitError, ErrorCodes, isDynasplitError } from './errors.ts';
export type { ErrorCode, DynasplitErrorOptions } from './errors.ts';
export { createProgress } from './progress.ts';
export type { Progress, ProgressSink } from './progress.ts';
export { connectMqtt } from './mqtt.ts';
export type { MqttClient, MqttConnectOptions } from './mqtt.ts';
export { stripUndefined, requirePositiveIntegers } from './options.ts';
