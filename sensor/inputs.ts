/**
 * What a sensor sends: seeded synthetic tensors (workload/), or images from a directory (decoded and
 * preprocessed here as the model card says, or sent encoded for the edge node to preprocess). A model
 * with several inputs gets every one: the image (or the first synthetic tensor) for the card's image
 * input, seeded synthetic tensors for the others, each named as its input.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { encodeTensor } from '../codec/index.ts';
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import { imageFormat, preprocessImage } from '../image/index.ts';
import type { ImageInput, TensorDesc } from '../model/index.ts';
import type { FrameProperties } from '../schemas/index.ts';
import { syntheticFrames } from '../workload/index.ts';

export type FrameInput = Pick<FrameProperties, 'tensor' | 'image' | 'inputs'>;

/** Returns the input of frame i (0-based), cycling through a fixed set of inputs. */
export type InputSource = (i: number) => FrameInput;

/** The model's inputs as a sensor sees them: all of them, and the one an image feeds. */
export interface SensorModel {
  inputs: readonly TensorDesc[];
  /** undefined: the model takes no image (model/card-use.ts imageInputOf), only tensors. */
  image?: ImageInput;
}

export function syntheticSource(model: SensorModel, seed: number): InputSource {
  const frames = syntheticFrames(model.inputs, seed).map(({ tensor, inputs }) => ({ tensor, inputs }));
  return (i) => frames[i % frames.length];
}

export async function imageInputs(dir: string, model: SensorModel, sendEncoded: boolean, seed: number): Promise<InputSource> {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => ['.jpg', '.jpeg', '.png'].includes(extname(f).toLowerCase())).sort();
  } catch (cause) {
    throw new DynasplitError(ErrorCodes.FILE_NOT_FOUND, `images directory ${dir} cannot be read: ${(cause as Error).message}`, { cause });
  }
  const { image } = model;
  if (!image) {
    const [first] = model.inputs;
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `the model takes no image: its input '${first.name}' is ${first.dtype}[${first.shape.join(', ')}], not an RGB or grayscale image; send tensors (leave out the images directory)`);
  }
  if (files.length === 0) throw new DynasplitError(ErrorCodes.BAD_ARGS, `no .jpg/.jpeg/.png files in ${dir}`);
  // Seeded synthetic tensors for every input but the image's.
  const others = syntheticFrames(model.inputs, seed).map((f) => [f.tensor, ...f.inputs].filter((t) => t.name !== image.tensor));
  const inputs: FrameInput[] = [];
  for (const [k, file] of files.entries()) {
    const bytes = readFileSync(join(dir, file));
    const rest = others[k % others.length];
    if (sendEncoded) {
      inputs.push({ image: { data: bytes, format: imageFormat(bytes) ?? '' }, inputs: rest });
    } else {
      const data = await preprocessImage(bytes, image.preprocess);
      inputs.push({ tensor: encodeTensor({ name: image.tensor, shape: image.shape, data }, 'fp32'), inputs: rest });
    }
  }
  return (i) => inputs[i % inputs.length];
}
