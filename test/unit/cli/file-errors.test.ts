import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DynasplitError, ErrorCodes } from '../../../common/index.ts';
import { fileError } from '../../../cli/main.ts';
import { caught } from '../../helpers/caught.ts';

describe('a file-system failure that escapes a command', () => {
  it('is DYNASPLIT_ERR_STORAGE naming the path, the call and the errno (an output folder removed during a run)', () => {
    const scratch = mkdtempSync(join(tmpdir(), 'dynasplit-file-errors-'));
    rmSync(scratch, { recursive: true });
    const missing = join(scratch, 'results-vgg16.json');
    const coded = fileError(caught(() => writeFileSync(missing, '{}')));
    expect(coded?.code).toBe(ErrorCodes.STORAGE);
    expect(coded?.message).toBe(`cannot open ${missing}: no such file or directory (ENOENT)`);
    expect(coded?.details).toEqual({ path: missing, errno: 'ENOENT', syscall: 'open' });
  });

  it('names a path that is not a folder', () => {
    const scratch = mkdtempSync(join(tmpdir(), 'dynasplit-file-errors-'));
    try {
      const file = join(scratch, 'pool.csv');
      writeFileSync(file, '');
      expect(fileError(caught(() => readdirSync(file)))?.message).toBe(`cannot scandir ${file}: not a directory (ENOTDIR)`);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it('leaves coded errors and other exceptions as they are', () => {
    expect(fileError(new DynasplitError(ErrorCodes.BAD_ARGS, 'x'))).toBeUndefined();
    expect(fileError(new TypeError('x is undefined'))).toBeUndefined();
    expect(fileError('a string')).toBeUndefined();
  });
});
