import { join } from 'node:path';
import { expect, it } from 'vitest';
import { isDynasplitError } from '../../../common/index.ts';
import { modelFlag } from '../../../cli/demo-command.ts';

it('takes a zoo name, an ONNX file named after itself, or NAME=FILE', () => {
  const file = join(import.meta.dirname, '..', '..', '..', 'package.json');
  expect(modelFlag('vgg16-64')).toEqual({ 'vgg16-64': 'vgg16-64' });
  expect(modelFlag(`mine=${file}`)).toEqual({ mine: file });
  const missing = (() => { try { modelFlag('./missing.onnx'); } catch (err) { return err; } })();
  expect(isDynasplitError(missing, 'DYNASPLIT_ERR_FILE_NOT_FOUND')).toBe(true);
  const misspelled = (() => { try { modelFlag('vgg16-6'); } catch (err) { return err; } })();
  expect(isDynasplitError(misspelled, 'DYNASPLIT_ERR_UNKNOWN_MODEL')).toBe(true);
  expect((misspelled as Error).message).toContain('vgg16, vgg16-64, vgg16-tiny, vit-b16, vit-tiny');
});
