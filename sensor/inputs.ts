/**
 * What a sensor sends: seeded synthetic tensors (workload/), or images from a directory (decoded and
 * preprocessed here, or sent encoded for the edge node to preprocess).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { encodeTensor } from '../codec/index.ts';
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import { imageFormat, preprocessImage } from '../image/index.ts';
import type { FrameProperties } from '../schemas/index.ts';
import { syntheticInputs } from '../workload/index.ts';

export type FrameInput = Pick<FrameProperties, 'tensor' | 'image'>;

/** Returns the input of frame i (0-based), cycling through a fixed set of inputs. */
export type InputSource = (i: number) => FrameInput;

export function syntheticSource(shape: number[], seed: number): InputSource {
  const inputs = syntheticInputs(shape, seed).map(({ tensor }) => ({ tensor }));
  return (i) => inputs[i % inputs.length];
}

export async function imageInputs(dir: string, shape: number[], sendEncoded: boolean): Promise<InputSource> {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => ['.jpg', '.jpeg', '.png'].includes(extname(f).toLowerCase())).sort();
  } catch (cause) {
    throw new DynasplitError(ErrorCodes.FILE_NOT_FOUND, `images directory ${dir} cannot be read: ${(cause as Error).message}`, { cause });
  }
  if (files.length === 0) throw new DynasplitError(ErrorCodes.BAD_ARGS, `no .jpg/.jpeg/.png files in ${dir}`);
  if (shape.length !== 4 || shape[1] !== 3) throw new DynasplitError(ErrorCodes.BAD_ARGS, `the model takes [${shape.join(', ')}], not RGB images`);
  const inputs: FrameInput[] = [];
  for (const file of files) {
    const bytes = readFileSync(join(dir, file));
    if (sendEncoded) {
      inputs.push({ image: { data: bytes, format: imageFormat(bytes) ?? '' } });
    } else {
      const data = await preprocessImage(bytes, { height: shape[2], width: shape[3] });
      inputs.push({ tensor: encodeTensor({ name: 'input', shape, data }, 'fp32') });
    }
  }
  return (i) => inputs[i % inputs.length];
}
