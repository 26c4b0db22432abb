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
import type { FrameProperties, TensorProperties } from '../schemas/index.ts';
import { syntheticInputs } from '../workload/index.ts';

export type FrameInput = Pick<FrameProperties, 'tensor' | 'image' | 'inputs'>;

/** Returns the input of frame i (0-based), cycling through a fixed set of inputs. */
export type InputSource = (i: number) => FrameInput;

/** The model's inputs as a sensor sees them: all of them, and the one an image feeds. */
export interface SensorModel {
  inputs: readonly TensorDesc[];
  image: ImageInput;
}

/** Seeded synthetic tensors for every input but `except`, by name. */
function synthetic(inputs: readonly TensorDesc[], except: string | undefined, seed: number): Array<Record<string, TensorProperties>> {
  const per = inputs.filter((d) => d.name !== except).map((d) => syntheticInputs(d.shape, seed).map(({ tensor }) => ({ ...tensor, name: d.name })));
  const variants = per[0]?.length ?? 1;
  return Array.from({ length: variants }, (_, k) => Object.fromEntries(per.map((list) => [list[k].name, list[k]])));
}

export function syntheticSource(model: SensorModel, seed: number): InputSource {
  const [first, ...rest] = model.inputs;
  const frames = synthetic(model.inputs, undefined, seed).map((byName) => ({
    tensor: byName[first.name],
    inputs: rest.map((d) => byName[d.name]),
  }));
  return (i) => frames[i % frames.length];
}

export async function imageInputs(dir: string, model: SensorModel, sendEncoded: boolean, seed: number): Promise<InputSource> {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => ['.jpg', '.jpeg', '.png'].includes(extname(f).toLowerCase())).sort();
  } catch (cause) {
    throw new DynasplitError(ErrorCodes.FILE_NOT_FOUND, `images directory ${dir} cannot be read: ${(cause as Error).message}`, { cause });
  }
  if (files.length === 0) throw new DynasplitError(ErrorCodes.BAD_ARGS, `no .jpg/.jpeg/.png files in ${dir}`);
  const { image } = model;
  const others = synthetic(model.inputs, image.tensor, seed);
  const inputs: FrameInput[] = [];
  for (const [k, file] of files.entries()) {
    const bytes = readFileSync(join(dir, file));
    const rest = Object.values(others[k % others.length]);
    if (sendEncoded) {
      inputs.push({ image: { data: bytes, format: imageFormat(bytes) ?? '' }, inputs: rest });
    } else {
      const data = await preprocessImage(bytes, image.preprocess);
      inputs.push({ tensor: encodeTensor({ name: image.tensor, shape: image.shape, data }, 'fp32'), inputs: rest });
    }
  }
  return (i) => inputs[i % inputs.length];
}
