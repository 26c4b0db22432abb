/**
 * Validation of device profiles read from JSON: every field is checked, and a bad one throws
 * DYNASPLIT_ERR_BAD_ARGS naming the file and the field's dotted path (`cpu.activeW.1800`). The
 * honesty rule is enforced here too: the main figures must cite a source.
 */
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import type { AcceleratorSpec, CloudMode, CpuSpec, DeviceProfile } from './profile.ts';

type Obj = Record<string, unknown>;

/** Figures every profile must cite in `sources`, plus one entry per accelerator and cloud mode. */
const CITED = ['memoryMb', 'cpu.frequenciesMhz', 'cpu.gflopsPerCorePerGhz', 'cpu.parallelFraction', 'cpu.idleW', 'cpu.activeW'];

class Checker {
  constructor(private readonly file: string) {}

  fail(field: string, problem: string): never {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `${this.file}: field '${field}' ${problem}`, { details: { file: this.file, field } });
  }

  object(value: unknown, field: string): Obj {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(field, 'must be an object');
    return value as Obj;
  }

  /** Rejects keys outside `allowed`, so a typo in a hand-written profile is not silently ignored. */
  keys(obj: Obj, allowed: string[], field: string): void {
    for (const key of Object.keys(obj)) {
      if (!allowed.includes(key) && !key.startsWith('$')) this.fail(field ? `${field}.${key}` : key, `is not a known field (known: ${allowed.join(', ')})`);
    }
  }

  string(value: unknown, field: string): string {
    if (typeof value !== 'string' || value.trim() === '') this.fail(field, 'must be a non-empty string');
    return value as string;
  }

  /** A finite number in [min, max]; `integer` demands an integer. */
  number(value: unknown, field: string, min: number, max = Infinity, integer = false): number {
    if (typeof value !== 'number' || !Number.isFinite(value)) this.fail(field, `must be a number, got ${JSON.stringify(value)}`);
    const n = value as number;
    if (integer && !Number.isInteger(n)) this.fail(field, `must be an integer, got ${n}`);
    if (n < min || n > max) this.fail(field, `must be in [${min}, ${max}], got ${n}`);
    return n;
  }

  positive(value: unknown, field: string): number {
    const n = this.number(value, field, 0);
    if (n === 0) this.fail(field, 'must be greater than 0');
    return n;
  }
}

export function validateProfile(raw: unknown, file: string): DeviceProfile {
  const c: Checker = new Checker(file);
  const obj = c.object(raw, '(root)');
  c.keys(obj, ['name', 'kind', 'description', 'memoryMb', 'reserveMb', 'cpu', 'accelerators', 'modes', 'sources', 'calibration'], '');
  const kind = c.string(obj.kind, 'kind');
  if (kind !== 'edge' && kind !== 'cloud') c.fail('kind', `must be 'edge' or 'cloud', got '${kind}'`);
  const memoryMb = c.positive(obj.memoryMb, 'memoryMb');
  const reserveMb = c.number(obj.reserveMb, 'reserveMb', 0);
  if (reserveMb >= memoryMb) c.fail('reserveMb', `must be less than memoryMb (${memoryMb})`);
  const profile: DeviceProfile = {
    name: c.string(obj.name, 'name'),
    kind,
    description: c.string(obj.description, 'description'),
    memoryMb,
    reserveMb,
    cpu: cpuSpec(c, obj.cpu),
    sources: sources(c, obj.sources),
  };
  if (obj.accelerators !== undefined) profile.accelerators = accelerators(c, obj.accelerators);
  if (obj.modes !== undefined) profile.modes = cloudModes(c, obj.modes);
  if (kind === 'cloud' && !profile.modes?.cpu) c.fail('modes.cpu', "is required for a cloud profile (the default mode)");
  if (kind === 'edge' && profile.modes) c.fail('modes', 'is for cloud profiles; an edge device lists accelerators');
  if (obj.calibration !== undefined) profile.calibration = c.object(obj.calibration, 'calibration') as Record<string, number | string>;
  requireCitations(c, profile);
  return profile;
}

function cpuSpec(c: Checker, value: unknown): CpuSpec {
  const cpu = c.object(value, 'cpu');
  c.keys(cpu, ['cores', 'frequenciesMhz', 'gflopsPerCorePerGhz', 'parallelFraction', 'idleW', 'activeW'], 'cpu');
  const cores = c.number(cpu.cores, 'cpu.cores', 1, 4096, true);
  if (!Array.isArray(cpu.frequenciesMhz) || cpu.frequenciesMhz.length === 0) c.fail('cpu.frequenciesMhz', 'must be a non-empty array of MHz');
  const frequenciesMhz = (cpu.frequenciesMhz as unknown[]).map((f, i) => c.number(f, `cpu.frequenciesMhz[${i}]`, 1, 100_000, true));
  frequenciesMhz.forEach((f, i) => {
    if (i > 0 && f <= frequenciesMhz[i - 1]) c.fail(`cpu.frequenciesMhz[${i}]`, 'must be ascending without repeats');
  });
  const idleW = c.number(cpu.idleW, 'cpu.idleW', 0);
  const activeObj = c.object(cpu.activeW, 'cpu.activeW');
  const activeW: Record<string, number> = {};
  for (const f of frequenciesMhz) {
    if (!(String(f) in activeObj)) c.fail(`cpu.activeW.${f}`, 'is missing: every frequency step needs its all-cores-busy power');
    activeW[String(f)] = c.number(activeObj[String(f)], `cpu.activeW.${f}`, idleW);
  }
  c.keys(activeObj, Object.keys(activeW), 'cpu.activeW');
  return {
    cores,
    frequenciesMhz,
    gflopsPerCorePerGhz: c.positive(cpu.gflopsPerCorePerGhz, 'cpu.gflopsPerCorePerGhz'),
    parallelFraction: c.number(cpu.parallelFraction, 'cpu.parallelFraction', 0, 1),
    idleW,
    activeW,
  };
}

function accelerators(c: Checker, value: unknown): AcceleratorSpec[] {
  if (!Array.isArray(value)) c.fail('accelerators', 'must be an array');
  const names = new Set<string>();
  return (value as unknown[]).map((item, i) => {
    const at = `accelerators[${i}]`;
    const a = c.object(item, at);
    c.keys(a, ['name', 'description', 'bytesPerParam', 'maxParamBytes', 'idleW', 'modes'], at);
    const name = c.string(a.name, `${at}.name`);
    if (name.includes(':') || name === 'none') c.fail(`${at}.name`, "must not be 'none' or contain ':'");
    if (names.has(name)) c.fail(`${at}.name`, `repeats accelerator '${name}'`);
    names.add(name);
    const modesObj = c.object(a.modes, `${at}.modes`);
    if (Object.keys(modesObj).length === 0) c.fail(`${at}.modes`, 'must list at least one mode');
    const modes = Object.fromEntries(Object.entries(modesObj).map(([mode, m]) => {
      const mo = c.object(m, `${at}.modes.${mode}`);
      c.keys(mo, ['gflops', 'activeW'], `${at}.modes.${mode}`);
      return [mode, { gflops: c.positive(mo.gflops, `${at}.modes.${mode}.gflops`), activeW: c.number(mo.activeW, `${at}.modes.${mode}.activeW`, 0) }];
    }));
    return {
      name,
      description: c.string(a.description, `${at}.description`),
      bytesPerParam: c.number(a.bytesPerParam, `${at}.bytesPerParam`, 0.125, 8),
      maxParamBytes: c.positive(a.maxParamBytes, `${at}.maxParamBytes`),
      idleW: c.number(a.idleW, `${at}.idleW`, 0),
      modes,
    };
  });
}

function cloudModes(c: Checker, value: unknown): Record<string, CloudMode> {
  const obj = c.object(value, 'modes');
  return Object.fromEntries(Object.entries(obj).map(([name, m]) => {
    const at = `modes.${name}`;
    const mo = c.object(m, at);
    c.keys(mo, ['gflops', 'activeW', 'maxParamBytes'], at);
    const mode: CloudMode = { gflops: c.positive(mo.gflops, `${at}.gflops`), activeW: c.number(mo.activeW, `${at}.activeW`, 0) };
    if (mo.maxParamBytes !== undefined) mode.maxParamBytes = c.positive(mo.maxParamBytes, `${at}.maxParamBytes`);
    return [name, mode];
  }));
}

function sources(c: Checker, value: unknown): Record<string, string> {
  const obj = c.object(value, 'sources');
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, c.string(v, `sources.${k}`)]));
}

/** Honesty rule: a figure without a cited source (or a stated estimate) is not accepted. */
function requireCitations(c: Checker, profile: DeviceProfile): void {
  const needed = [
    ...CITED,
    ...(profile.accelerators ?? []).map((a) => `accelerators.${a.name}`),
    ...Object.keys(profile.modes ?? {}).map((m) => `modes.${m}`),
  ];
  for (const figure of needed) {
    const cited = Object.keys(profile.sources).some((k) => k === figure || k.startsWith(`${figure}.`));
    if (!cited) c.fail(`sources.${figure}`, `is missing: cite where the ${figure} figure comes from, or say it is an estimate`);
  }
}
