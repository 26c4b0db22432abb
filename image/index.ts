/** Image input: decoding and preprocessing JPEG/PNG frames to model input tensors. */
export { preprocessImage, imageFormat, IMAGENET_MEAN, IMAGENET_STD, INTERPOLATIONS, UNIT_SCALE, MAX_INPUT_PIXELS } from './preprocess.ts';
export type { PreprocessOptions, ImageLayout, ColorOrder, Interpolation } from './preprocess.ts';
