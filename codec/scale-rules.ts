/**
 * The rules of symmetric int8 quantization that both kernel sets (JavaScript in quantize.ts,
 * WebAssembly in simd/kernels.ts) apply per group, in one place so that they cannot drift apart.
 */

/** Largest finite float32. */
export const FLOAT32_MAX = 3.4028234663852886e38;
/** Smallest normal float32, 2^-126. */
export const FLOAT32_MIN_NORMAL = 1.1754943508222875e-38;

/**
 * The float64 multiplier q = round(x * inverse) uses: 1 / scale, or 0 for a scale of 0 (all zeros,
 * or absmax so tiny that absmax / 127 underflows), which quantizes to 0.
 */
export function inverseScale(scale: number): number {
  return scale > 0 ? 1 / scale : 0;
}

/**
 * Whether round(x * inverseScale(scale)) must be clamped to [-127, 127]. |x * inv| <= 127 *
 * (1 + 2^-23) < 127.5 while the float32 scale is a normal number (relative rounding error
 * <= 2^-24), so it rounds into [-127, 127]. When absmax / 127 rounds to a subnormal it can pass 127,
 * and an Int8Array store would wrap the sign: those groups are clamped.
 */
export function needsClamp(scale: number): boolean {
  return !(scale >= FLOAT32_MIN_NORMAL);
}
