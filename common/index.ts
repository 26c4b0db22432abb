export { DynasplitError, ErrorCodes, isDynasplitError, isErrorCode, messageWithCauses } from './errors.ts';
export type { ErrorCode, DynasplitErrorOptions } from './errors.ts';
export { closest, editDistance } from './closest.ts';
export { coalesceWrites } from './coalesce-writes.ts';
export { createProgress, formatDuration, printAboveProgress, progressCallback, releaseProgressLine } from './progress.ts';
export type { Progress, ProgressOptions, ProgressSink } from './progress.ts';
export { connectInBackground, type BackgroundMqtt } from './mqtt-background.ts';
export { holdAcks, type AckHolder } from './held-acks.ts';
export { keepTrying, type KeepTrying, type KeepTryingOptions } from './keep-trying.ts';
export { checkMqttUrl, connectMqtt, subscribeAcrossReconnects, END_GRACE_MS, endMqtt, loadMqttTls, logConnection, MQTT_SCHEMES, redactUrl } from './mqtt.ts';
export { packageVersion } from './version.ts';
export type { MqttClient, MqttConnectOptions, MqttTls } from './mqtt.ts';
export { MAX_TIMER_MS, stripUndefined, requirePositiveIntegers } from './options.ts';
export { Limiter, type Slot } from './limiter.ts';
export { flushLogRepeats, LOG_FORMATS, silentLogger, rootLogger } from './log.ts';
export type { LogFormat, Logger, RootLoggerOptions } from './log.ts';
export { Rng, seededTensor, tensorRng } from './random.ts';
export { RateLimiter } from './rate-limiter.ts';
export { settlesWithin } from './settles.ts';
export { WallClock, wallClockAt, wallClockMs } from './clock.ts';
export {
  ascending, influxPercentile, influxPercentileIndex, mean, median, medianByRank, medianOfSorted, nearestRank, nearestRankOf, percentile, sortedCopy,
} from './stats.ts';
