/**
 * JPEG/PNG to model input: decode, resize (shorter side to the target, then centre crop, as
 * torchvision's Resize + CenterCrop), scale to [0, 1], normalise per channel and lay out as NCHW
 * float32. Decoding and resizing are libvips through sharp.
 */
import sharp from 'sharp';
import { DynasplitError, ErrorCodes } from '../common/index.ts';

/** ImageNet channel statistics (torchvision's defaults). */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

export interface PreprocessOptions {
  /** Target height and width, pixels. */
  height: number;
  width: number;
  mean?: readonly number[];
  std?: readonly number[];
}

/** Returns a [1, 3, height, width] float32 tensor's data. */
export async function preprocessImage(bytes: Uint8Array, options: PreprocessOptions): Promise<Float32Array> {
  const { height, width } = options;
  const mean = options.mean ?? IMAGENET_MEAN;
  const std = options.std ?? IMAGENET_STD;
  let pixels: Buffer;
  try {
    pixels = await sharp(bytes, { failOn: 'error', limitInputPixels: 64 * 1024 * 1024 })
      .removeAlpha()
      .toColourspace('srgb')
      .resize({ width, height, fit: 'cover', position: 'centre' })
      .raw()
      .toBuffer();
  } catch (cause) {
    throw new DynasplitError(ErrorCodes.BAD_FRAME, `image cannot be decoded: ${(cause as Error).message}`, { cause });
  }
  const plane = height * width;
  if (pixels.length !== plane * 3) {
    throw new DynasplitError(ErrorCodes.BAD_FRAME, `image decoded to ${pixels.length} bytes, expected ${plane * 3} (RGB)`);
  }
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const m = mean[c];
    const s = std[c] * 255;
    const base = c * plane;
    for (let i = 0; i < plane; i++) out[base + i] = (pixels[i * 3 + c] - m * 255) / s;
  }
  return out;
}

/** "jpeg" or "png" from the file's magic bytes, else undefined. */
export function imageFormat(bytes: Uint8Array): 'jpeg' | 'png' | undefined {
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return 'jpeg';
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'png';
  return undefined;
}
