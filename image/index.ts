/** Image input: decoding and preprocessing JPEG/PNG frames to model input tensors. */
export { preprocessImage, imageFormat, IMAGENET_MEAN, IMAGENET_STD } from './preprocess.ts';
export type { PreprocessOptions } from './preprocess.ts';
