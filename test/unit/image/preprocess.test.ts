import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { imageFormat, IMAGENET_MEAN, IMAGENET_STD, preprocessImage } from '../../../image/index.ts';
import { halfToEven } from '../../../image/preprocess.ts';

const solid = (r: number, g: number, b: number, format: 'png' | 'jpeg', width = 40, height = 20) =>
  sharp({ create: { width, height, channels: 3, background: { r, g, b } } })[format]().toBuffer();

describe('preprocessImage', () => {
  it('resizes, centre-crops and normalises to NCHW float32 with ImageNet statistics', async () => {
    const data = await preprocessImage(await solid(255, 128, 0, 'png'), { height: 8, width: 8 });
    expect(data).toHaveLength(3 * 8 * 8);
    const expected = [255, 128, 0].map((v, c) => (v / 255 - IMAGENET_MEAN[c]) / IMAGENET_STD[c]);
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < 64; i++) expect(data[c * 64 + i]).toBeCloseTo(expected[c], 5);
    }
  });

  it('reads JPEG too, and tells the formats apart by their bytes', async () => {
    const jpeg = await solid(10, 200, 30, 'jpeg');
    expect(imageFormat(jpeg)).toBe('jpeg');
    expect(imageFormat(await solid(1, 2, 3, 'png'))).toBe('png');
    expect(imageFormat(new Uint8Array([1, 2, 3, 4]))).toBeUndefined();
    const data = await preprocessImage(jpeg, { height: 4, width: 4 });
    expect(data[0]).toBeCloseTo((10 / 255 - IMAGENET_MEAN[0]) / IMAGENET_STD[0], 1);
  });

  it('grayscale: PIL\'s luma of each pixel, scaled and normalised, one channel in either layout', async () => {
    // PIL's convert('L'): (19595 R + 38470 G + 7471 B + 2^15) >> 16, e.g. pure red is 76, (200, 100, 50) is 124.
    for (const [rgb, luma] of [[[255, 0, 0], 76], [[0, 255, 0], 150], [[0, 0, 255], 29], [[200, 100, 50], 124], [[255, 255, 255], 255]] as const) {
      const data = await preprocessImage(await solid(rgb[0], rgb[1], rgb[2], 'png', 8, 8), { height: 4, width: 4, channels: 1 });
      expect(data).toHaveLength(16);
      // Within float32's rounding of luma / 255, and far from luma ± 1 (0.0039 away).
      expect(data.every((v) => Math.abs(v - luma / 255) < 1e-6), `${rgb} -> ${luma}: ${data[0] * 255}`).toBe(true);
    }
    const png = await solid(200, 100, 50, 'png', 8, 8);
    const normalised = await preprocessImage(png, { height: 4, width: 4, channels: 1, mean: [0.5], std: [0.25], layout: 'NHWC' });
    expect(normalised[0]).toBeCloseTo((124 / 255 - 0.5) / 0.25, 6);
    // A gray image keeps its values.
    const gray = await sharp(Buffer.from(Array.from({ length: 16 }, (_, i) => i * 16)), { raw: { width: 4, height: 4, channels: 1 } }).png().toBuffer();
    expect(Array.from(await preprocessImage(gray, { height: 4, width: 4, channels: 1, scale: 1 }))).toEqual(Array.from({ length: 16 }, (_, i) => i * 16));
  });

  it('resizes bilinearly unless told otherwise, as torchvision\'s Resize does (libvips\' linear kernel, not sharp\'s default Lanczos 3)', async () => {
    const image = await coordinates(97, 61).then((png) => sharp(png).modulate({ hue: 40 }).png().toBuffer());
    const raw = (kernel: 'linear' | 'lanczos3' | 'nearest') => sharp(image).resize({ width: 24, height: 16, fit: 'fill', kernel }).removeAlpha().raw().toBuffer();
    const ours = async (interpolation?: 'bilinear' | 'lanczos' | 'nearest') => Array.from(await preprocessImage(image,
      { height: 16, width: 24, resize: [16, 24], scale: 1, mean: [0, 0, 0], std: [1, 1, 1], layout: 'NHWC', interpolation }));
    const [linear, lanczos, nearest] = await Promise.all([raw('linear'), raw('lanczos3'), raw('nearest')]);
    expect(Array.from(linear)).not.toEqual(Array.from(lanczos));
    expect(await ours()).toEqual(Array.from(linear));
    expect(await ours('lanczos')).toEqual(Array.from(lanczos));
    expect(await ours('nearest')).toEqual(Array.from(nearest));
  });

  it('drops an alpha channel before the resize, as PIL\'s convert(\'RGB\') does (libvips would resize premultiplied)', async () => {
    const [w, h] = [37, 29];
    const rgba = Buffer.alloc(w * h * 4);
    for (let i = 0; i < w * h; i++) rgba.set([(i * 7) % 256, (i * 13) % 256, (i * 29) % 256, i % 3 === 0 ? 0 : i % 3 === 1 ? 128 : 255], i * 4);
    const png = await sharp(rgba, { raw: { width: w, height: h, channels: 4 } }).png().toBuffer();
    const rgb = Buffer.alloc(w * h * 3);
    for (let i = 0; i < w * h; i++) rgb.set(rgba.subarray(i * 4, i * 4 + 3), i * 3);
    const fill = { width: 16, height: 12, fit: 'fill', kernel: 'linear' } as const;
    const expected = await sharp(rgb, { raw: { width: w, height: h, channels: 3 } }).resize(fill).raw().toBuffer();
    const premultiplied = await sharp(png).resize(fill).removeAlpha().raw().toBuffer();
    expect(Array.from(premultiplied)).not.toEqual(Array.from(expected));
    const ours = await preprocessImage(png, { height: 12, width: 16, resize: [12, 16], layout: 'NHWC', ...RAW });
    expect(Array.from(ours)).toEqual(Array.from(expected));
  });

  it('a file that is not an image is a coded error', async () => {
    await expect(preprocessImage(new Uint8Array([0xff, 0xd8, 1, 2, 3]), { height: 4, width: 4 }))
      .rejects.toMatchObject({ code: 'DYNASPLIT_ERR_BAD_FRAME' });
  });
});

/** An image whose pixel (x, y) is R = x mod 256, G = y mod 256, B = 7: where each output pixel came from is readable. */
function coordinates(width: number, height: number) {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set([x % 256, y % 256, 7], (y * width + x) * 3);
  }
  return sharp(data, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

const RAW = { mean: [0, 0, 0], std: [1, 1, 1], scale: 1 };

describe('preprocessImage with a model card\'s parameters', () => {
  it('Resize(256) + CenterCrop(224) takes the centre 224 x 224 of an image whose shorter side is already 256', async () => {
    // 400 x 256: the resize keeps it, the crop starts at top = 16, left = round(176 / 2) = 88.
    const data = await preprocessImage(await coordinates(400, 256), { height: 224, width: 224, resize: 256, ...RAW });
    const plane = 224 * 224;
    for (const [y, x] of [[0, 0], [0, 223], [223, 0], [111, 100], [223, 223]]) {
      expect(data[y * 224 + x]).toBe((x + 88) % 256);
      expect(data[plane + y * 224 + x]).toBe(y + 16);
      expect(data[2 * plane + y * 224 + x]).toBe(7);
    }
  });

  it('an odd margin rounds half to even, as Python\'s round in torchvision\'s CenterCrop does', async () => {
    // 37 x 28 kept as it is, crop 28 x 23: left = round(4.5) = 4, top = round(2.5) = 2 (not 5 and 3).
    const data = await preprocessImage(await coordinates(37, 28), { height: 23, width: 28, resize: [28, 37], ...RAW });
    const plane = 23 * 28;
    expect([data[0], data[plane]]).toEqual([4, 2]);
    expect([data[plane - 1], data[2 * plane - 1]]).toEqual([31, 24]);
    expect([0.5, 1.5, 2.5, 4.5, 3, -0.5].map(halfToEven)).toEqual([0, 2, 2, 4, 3, -0]);
  });

  it('Resize(256) scales the shorter side to 256 before the crop (a 2:1 image of two halves)', async () => {
    // 1024 x 512, left half red and right half green -> 512 x 256 -> crop left = 144: columns 0..111 red, 112..223 green.
    const left = await sharp({ create: { width: 512, height: 512, channels: 3, background: { r: 255, g: 0, b: 0 } } }).png().toBuffer();
    const image = await sharp({ create: { width: 1024, height: 512, channels: 3, background: { r: 0, g: 255, b: 0 } } })
      .composite([{ input: left, left: 0, top: 0 }]).png().toBuffer();
    const data = await preprocessImage(image, { height: 224, width: 224, resize: 256, ...RAW });
    const plane = 224 * 224;
    for (const y of [0, 100, 223]) {
      expect([data[y * 224 + 5], data[plane + y * 224 + 5]]).toEqual([255, 0]);
      expect([data[y * 224 + 218], data[plane + y * 224 + 218]]).toEqual([0, 255]);
    }
  });

  it('lays out NHWC in BGR order with the given scale, mean and std', async () => {
    const data = await preprocessImage(await solid(200, 100, 50, 'png'), {
      height: 2, width: 3, layout: 'NHWC', colorOrder: 'BGR', scale: 1, mean: [10, 20, 30], std: [2, 4, 5],
    });
    expect(data).toHaveLength(18);
    // channel 0 of the model is blue: (50 - 10) / 2; then green (100 - 20) / 4, red (200 - 30) / 5.
    for (let i = 0; i < 6; i++) expect([...data.subarray(i * 3, i * 3 + 3)]).toEqual([20, 20, 34]);
  });

  it('refuses a resize smaller than the crop, with a coded error', async () => {
    await expect(preprocessImage(await solid(1, 2, 3, 'png', 40, 20), { height: 16, width: 16, resize: [10, 10] }))
      .rejects.toMatchObject({ code: 'DYNASPLIT_ERR_BAD_FRAME' });
  });
});
