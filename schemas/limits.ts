/**
 * The limits of every field a sensor controls in a Frame, in one table (docs/security.md lists them
 * with their flags). A node checks them where the frame enters, on the wire bytes, before decoding
 * allocates anything whose size the sender chose (edge-node/frame-limits.ts).
 */

export interface FrameLimits {
  /** bytes of Frame.request_id (UTF-8); default 256 */
  requestIdBytes: number;
  /** bytes of Frame.sensor_id; default 128 (a sensor id is a topic level of at most 128 characters) */
  sensorIdBytes: number;
  /** bytes of Frame.model; default 128 (model names are at most 128 characters) */
  modelBytes: number;
  /** bytes of every other string (tensor name, image format, the configuration's names); default 128 */
  stringBytes: number;
  /** dimensions of a tensor; default 8 */
  tensorRank: number;
  /** elements of a tensor (the product of its shape); default 16,777,216 (64 MiB as float32) */
  tensorElements: number;
  /** entries of a tensor's scales or zero_points; default 65,536 */
  tensorGroups: number;
  /** entries of Frame.inputs (a tensor per model input); default 64 */
  frameInputs: number;
  /** ms; the largest budget_ms accepted; default 3,600,000 (one hour) */
  maxBudgetMs: number;
  /** ms; how far capture_at_ms may lie ahead of the node's clock (clock skew); default 60,000 */
  maxClockSkewMs: number;
  /** Edge threads a configuration may ask for; default 1,024 */
  maxThreads: number;
  /** MHz; the highest CPU frequency a configuration may ask for; default 100,000 */
  maxFrequencyMhz: number;
}

export const DEFAULT_FRAME_LIMITS: Readonly<FrameLimits> = Object.freeze({
  requestIdBytes: 256,
  sensorIdBytes: 128,
  modelBytes: 128,
  stringBytes: 128,
  tensorRank: 8,
  tensorElements: 16 * 1024 * 1024,
  tensorGroups: 65_536,
  frameInputs: 64,
  maxBudgetMs: 3_600_000,
  maxClockSkewMs: 60_000,
  maxThreads: 1_024,
  maxFrequencyMhz: 100_000,
});

export const FRAME_LIMIT_NAMES = Object.keys(DEFAULT_FRAME_LIMITS) as (keyof FrameLimits)[];

/** Longest error message a result carries, characters: an error never echoes a whole field back. */
export const MAX_ERROR_MESSAGE_CHARS = 512;
