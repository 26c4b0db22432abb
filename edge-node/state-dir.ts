/**
 * The small files of an edge node's state directory beside its journal: `lock` (the pid of the
 * node using it) and `edge-id` (the node's id, kept so its broker session is found again).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynasplitError, ErrorCodes, type Logger } from '../common/index.ts';

/** Errors of a full or failing disk: survived (the node says what it cannot do), never fatal. */
export const DISK_FAULTS: ReadonlySet<string> = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EROFS', 'EFBIG']);

export function isDiskFault(err: unknown): boolean {
  return DISK_FAULTS.has((err as NodeJS.ErrnoException)?.code ?? '');
}

/** One node per state directory: a lock file with the owner's pid; a dead owner's lock is taken over. */
export function lockDirectory(dir: string, logger: Logger): void {
  const file = join(dir, 'lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return;
    } catch (err) {
      if (isDiskFault(err)) {
        // Created but not written (a full disk): the directory is ours, though a second node could take it.
        logger.warn({ dir, err: (err as Error).message }, 'lock file could not be written (disk full?): the directory is used without it');
        return;
      }
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      refuseIfInUse(dir);
      rmSync(file, { force: true });
    }
  }
  throw new DynasplitError(ErrorCodes.BAD_ARGS, `cannot lock state directory ${dir}`, { details: { dir } });
}

/**
 * Throws BAD_ARGS when another live process holds the directory's lock. Checked again before a node
 * connects or writes its id there: a second node started on a directory in use must not take over the
 * running one's client ids on the broker (its announcements) before the journal's lock refuses it.
 */
export function refuseIfInUse(dir: string): void {
  let owner: number;
  try {
    owner = Number(readFileSync(join(dir, 'lock'), 'utf8').trim());
  } catch {
    return;
  }
  if (Number.isInteger(owner) && owner > 0 && alive(owner)) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `state directory ${dir} is in use by process ${owner}`, { details: { dir, owner } });
  }
}

export function unlockDirectory(dir: string): void {
  rmSync(join(dir, 'lock'), { force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The node id kept in the state directory: `given` when set (and then kept), else the stored one, else `fallback`. */
export function stateIdentity(dir: string, given: string | undefined, fallback: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'edge-id');
  let stored: string | undefined;
  try {
    stored = readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    stored = undefined;
  }
  const id = given ?? stored ?? fallback;
  if (id !== stored) {
    try {
      writeFileSync(file, `${id}\n`);
    } catch (err) {
      // On a full disk the node still starts under its id; only remembering a new one waits.
      if (!isDiskFault(err)) throw err;
    }
  }
  return id;
}
