import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { imageFormat, IMAGENET_MEAN, IMAGENET_STD, preprocessImage } from '../../../image/index.ts';

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

  it('a file that is not an image is a coded error', async () => {
    await expect(preprocessImage(new Uint8Array([0xff, 0xd8, 1, 2, 3]), { height: 4, width: 4 }))
      .rejects.toMatchObject({ code: 'DYNASPLIT_ERR_BAD_FRAME' });
  });
});
