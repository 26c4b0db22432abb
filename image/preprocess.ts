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

/**
 * Largest image accepted, pixels (a 24-megapixel camera frame). sharp refuses larger ones from the
 * header alone; a few bytes declaring a huge image would otherwise cost seconds of CPU per frame.
 */
export const MAX_INPUT_PIXELS = 24_000_000;

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
  refuseImpossiblePng(bytes);
  let pixels: Buffer;
  try {
    pixels = await sharp(bytes, { failOn: 'error', limitInputPixels: MAX_INPUT_PIXELS })
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

/**
 * deflate compresses at most 1032:1 and a PNG pixel takes at least one bit, so a PNG cannot hold more
 * than 8 * 1032 pixels per byte of file. One that declares more (a few bytes claiming a 64-megapixel
 * image) is refused before libpng spends seconds walking rows that are not there.
 */
function refuseImpossiblePng(bytes: Uint8Array): void {
  if (imageFormat(bytes) !== 'png' || bytes.length < 24) return;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  if (width * height > 8 * 1032 * bytes.length) {
    throw new DynasplitError(ErrorCodes.BAD_FRAME,
      `PNG declares ${width} x ${height} pixels, more than its ${bytes.length} bytes can hold`);
  }
}
