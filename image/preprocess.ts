/**
 * JPEG/PNG to model input: decode, resize, centre crop, scale, normalise per channel and lay out as
 * float32 NCHW or NHWC in RGB or BGR order, or as one grayscale channel (PIL's luma, as torchvision's
 * Grayscale computes it on a PIL image). By default the shorter side is resized to cover the
 * target and the rest centre-cropped, with ImageNet statistics (torchvision's Resize + CenterCrop +
 * Normalize at the model's own size); `resize` gives torchvision's Resize(256) + CenterCrop(224).
 * Decoding and resizing are libvips through sharp.
 */
import sharp, { type Sharp } from 'sharp';
import { DynasplitError, ErrorCodes } from '../common/index.ts';

/** ImageNet channel statistics (torchvision's defaults), RGB. */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/** Pixel values 0..255 to 0..1 (torchvision's ToTensor). */
export const UNIT_SCALE = 1 / 255;

/**
 * Largest image accepted, pixels (a 24-megapixel camera frame). sharp refuses larger ones from the
 * header alone; a few bytes declaring a huge image would otherwise cost seconds of CPU per frame.
 */
export const MAX_INPUT_PIXELS = 24_000_000;

export type ImageLayout = 'NCHW' | 'NHWC';
/** How the resize samples, by torchvision's names (InterpolationMode); libvips' kernels in sharp. */
export type Interpolation = 'bilinear' | 'bicubic' | 'lanczos' | 'nearest';
export const INTERPOLATIONS: readonly Interpolation[] = ['bilinear', 'bicubic', 'lanczos', 'nearest'];
const KERNELS = { bilinear: 'linear', bicubic: 'cubic', lanczos: 'lanczos3', nearest: 'nearest' } as const;
export type ColorOrder = 'RGB' | 'BGR';

export interface PreprocessOptions {
  /** Target (crop) height and width, pixels. */
  height: number;
  width: number;
  /**
   * Resize before the centre crop: a number resizes the shorter side to it keeping the aspect ratio
   * (torchvision Resize(int)), [height, width] resizes to exactly that. Default: the shorter side to
   * cover height x width.
   */
  resize?: number | readonly [number, number];
  /**
   * Default 'bilinear', torchvision Resize's default. Downscaling a PIL image by 2 with PIL's
   * bilinear and with libvips' linear kernel differed by 0.19 of 255 on average (at most 16), by 4 by
   * 2.7 (docs/models.md); sharp's own default, Lanczos 3, by 7.5 and 4.8.
   */
  interpolation?: Interpolation;
  /** 3 (RGB, default) or 1 (grayscale). */
  channels?: 1 | 3;
  /** Per channel, in the model's channel order; default ImageNet's for RGB, mean 0 and std 1 for grayscale. */
  mean?: readonly number[];
  std?: readonly number[];
  /** Pixel values (0..255) are multiplied by this before the mean and std apply; default 1/255. */
  scale?: number;
  /** default 'NCHW' */
  layout?: ImageLayout;
  /** Channel order the model expects; default 'RGB'. */
  colorOrder?: ColorOrder;
}

/** Returns the data of a [1, C, height, width] (NCHW) or [1, height, width, C] (NHWC) float32 tensor, C = options.channels. */
export async function preprocessImage(bytes: Uint8Array, options: PreprocessOptions): Promise<Float32Array> {
  const { height, width } = options;
  refuseImpossiblePng(bytes);
  let pixels: Buffer;
  try {
    const decoded = sharp(bytes, { failOn: 'error', limitInputPixels: MAX_INPUT_PIXELS });
    const meta = await decoded.metadata();
    const image = (await withoutAlpha(decoded, meta.hasAlpha)).removeAlpha().toColourspace('srgb');
    pixels = await resized(image, meta, options).raw().toBuffer();
  } catch (cause) {
    if (cause instanceof DynasplitError) throw cause;
    throw new DynasplitError(ErrorCodes.BAD_FRAME, `image cannot be decoded: ${(cause as Error).message}`, { cause });
  }
  const plane = height * width;
  if (pixels.length !== plane * 3) {
    throw new DynasplitError(ErrorCodes.BAD_FRAME, `image decoded to ${pixels.length} bytes, expected ${plane * 3} (RGB)`);
  }
  return options.channels === 1 ? normaliseGray(pixels, plane, options) : normalise(pixels, plane, options);
}

/**
 * The image to resize. One with an alpha channel loses it first, as PIL's convert('RGB') drops it
 * before torchvision resizes: libvips resizes such an image premultiplied by its alpha, which moves
 * the colours of every pixel beside a (semi-)transparent one (measured: 2.6/255 on average).
 */
async function withoutAlpha(decoded: Sharp, hasAlpha: boolean): Promise<Sharp> {
  if (!hasAlpha) return decoded;
  const { data, info } = await decoded.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels as 1 | 2 | 3 | 4 } });
}

/** The resize and centre crop, as sharp operations; `meta`: the image's size as decoded. */
function resized(image: Sharp, meta: { height?: number; width?: number }, options: PreprocessOptions): Sharp {
  const { height, width, resize } = options;
  const kernel = KERNELS[options.interpolation ?? 'bilinear'];
  if (resize === undefined) return image.resize({ width, height, fit: 'cover', position: 'centre', kernel });
  let rh: number;
  let rw: number;
  if (typeof resize === 'number') {
    const [h, w] = [meta.height ?? 0, meta.width ?? 0];
    // torchvision Resize(int): the shorter side becomes `resize`, the longer int(resize * long / short).
    [rh, rw] = h <= w ? [resize, Math.floor((resize * w) / h)] : [Math.floor((resize * h) / w), resize];
  } else {
    [rh, rw] = resize;
  }
  if (rh < height || rw < width) {
    throw new DynasplitError(ErrorCodes.BAD_FRAME, `image resized to ${rw} x ${rh} is smaller than the ${width} x ${height} crop`);
  }
  // torchvision CenterCrop: top = int(round((h - crop_h) / 2.0)), left likewise, with Python's round:
  // half to even, so an odd margin of 5 puts 2 rows above, not 3.
  const top = halfToEven((rh - height) / 2);
  const left = halfToEven((rw - width) / 2);
  return image.resize({ width: rw, height: rh, fit: 'fill', kernel }).extract({ left, top, width, height });
}

/** Python's round(): halves go to the even neighbour. */
export function halfToEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Interleaved RGB bytes to normalised float32 in the model's layout and channel order. */
function normalise(pixels: Buffer, plane: number, options: PreprocessOptions): Float32Array {
  const mean = options.mean ?? IMAGENET_MEAN;
  const std = options.std ?? IMAGENET_STD;
  const scale = options.scale ?? UNIT_SCALE;
  const nhwc = options.layout === 'NHWC';
  const bgr = options.colorOrder === 'BGR';
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    // Channel c of the model reads pixel channel c (RGB) or 2 - c (BGR).
    const source = bgr ? 2 - c : c;
    const k = scale / std[c];
    const offset = mean[c] / std[c];
    const base = nhwc ? c : c * plane;
    const stride = nhwc ? 3 : 1;
    for (let i = 0; i < plane; i++) out[base + i * stride] = pixels[i * 3 + source] * k - offset;
  }
  return out;
}

/**
 * Interleaved RGB bytes to one normalised float32 channel. The luma is PIL's `convert('L')`, ITU-R
 * 601-2 in 16-bit fixed point ((19595 R + 38470 G + 7471 B + 2^15) >> 16): a model trained on
 * torchvision's Grayscale of PIL images sees the same values. A gray source (R = G = B) keeps its value.
 * NCHW and NHWC are one layout for a single channel.
 */
function normaliseGray(pixels: Buffer, plane: number, options: PreprocessOptions): Float32Array {
  const k = (options.scale ?? UNIT_SCALE) / (options.std?.[0] ?? 1);
  const offset = (options.mean?.[0] ?? 0) / (options.std?.[0] ?? 1);
  const out = new Float32Array(plane);
  for (let i = 0; i < plane; i++) {
    const luma = (pixels[i * 3] * 19595 + pixels[i * 3 + 1] * 38470 + pixels[i * 3 + 2] * 7471 + 0x8000) >> 16;
    out[i] = luma * k - offset;
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
