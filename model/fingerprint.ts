/**
 * A model file's fingerprint, which an edge node sends with every tail request and a cloud worker
 * compares with its own: two nodes that serve one name from different files (other weights, another
 * export, a half-finished rolling update) would otherwise join one model's head to another's tail, and
 * the answers would be wrong with nothing to say so.
 *
 * SHA-256 over the .onnx file whole and, for each external data file it names, its name, its size and
 * three samples of up to 1 MiB (start, middle, end): reading VGG16's 528 MB of weights whole would add
 * seconds to every start, and retrained or re-exported weights differ throughout, so samples tell them
 * apart. Equal fingerprints therefore mean "the same export", not a proof of equal bytes.
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { externalRef, type ModelFile } from './onnx/index.ts';

const SAMPLE_BYTES = 1 << 20;

export function modelFingerprint(file: ModelFile): string {
  const hash = createHash('sha256').update(readFileSync(file.path));
  const locations = new Set(file.model.graph.initializer.flatMap((t) => externalRef(t)?.location ?? []));
  for (const location of [...locations].sort()) {
    const fd = openSync(join(file.dir, location), 'r');
    try {
      const { size } = fstatSync(fd);
      hash.update(`\0${location}\0${size}\0`);
      const sample = Buffer.allocUnsafe(Math.min(SAMPLE_BYTES, size));
      for (const at of new Set([0, Math.floor((size - sample.length) / 2), size - sample.length])) {
        hash.update(sample.subarray(0, readSync(fd, sample, 0, sample.length, at)));
      }
    } finally {
      closeSync(fd);
    }
  }
  return hash.digest('hex').slice(0, 32);
}
