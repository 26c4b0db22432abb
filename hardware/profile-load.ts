/**
 * Loading device profiles: the built-in ones in `hardware/profiles/*.json`, or a JSON file by path,
 * each validated field by field (profile-validate.ts).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import type { DeviceProfile } from './profile.ts';
import { validateProfile } from './profile-validate.ts';

const PROFILES_DIR = fileURLToPath(new URL('./profiles/', import.meta.url));

/** Names of the built-in profiles (files in hardware/profiles/), sorted. */
export function listProfiles(): string[] {
  return readdirSync(PROFILES_DIR).filter((f) => f.endsWith('.json')).map((f) => basename(f, '.json')).sort();
}

/**
 * A built-in profile by name, or a profile JSON file by path. Every field is validated; a bad one
 * throws DYNASPLIT_ERR_BAD_ARGS naming the file and the field.
 */
export function loadProfile(nameOrPath: string): DeviceProfile {
  const isPath = nameOrPath.includes('/') || nameOrPath.includes('\\') || nameOrPath.endsWith('.json');
  if (!isPath) {
    if (nameOrPath === 'host') {
      throw new DynasplitError(ErrorCodes.BAD_ARGS,
        "the 'host' profile is this machine as measured, not a file: the nodes, optimizer run and optimizer profile take it; here give a built-in profile or a JSON file");
    }
    if (!listProfiles().includes(nameOrPath)) {
      throw new DynasplitError(ErrorCodes.BAD_ARGS,
        `unknown device profile '${nameOrPath}'; built-in profiles: ${listProfiles().join(', ')} (or give a JSON file path)`,
        { details: { profile: nameOrPath } });
    }
  }
  const file = isPath ? nameOrPath : join(PROFILES_DIR, `${nameOrPath}.json`);
  if (!existsSync(file)) {
    throw new DynasplitError(ErrorCodes.FILE_NOT_FOUND, `device profile file ${file} does not exist`, { details: { file } });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `${file}: not valid JSON: ${(cause as Error).message}`, { cause, details: { file } });
  }
  return validateProfile(raw, file);
}
