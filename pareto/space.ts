/**
 * The configuration space: every combination of the knobs (cut point, edge frequency, edge threads,
 * edge accelerator mode, tensor codec, cloud mode) minus the combinations that cannot run or that
 * repeat another one. DynaSplit (May et al., 2024) searched ~20% of such a space with NSGA-III because
 * each trial was a testbed run; we enumerate it whole when it is small enough, so it is kept compact:
 * a configuration is one integer, its mixed-radix index over the knob lists (gene order: cut,
 * frequency, threads, accelerator, codec, cloud mode), and the space is a Uint32Array of the valid ones.
 */
import { CODEC_NAMES } from '../codec/index.ts';
import type { ModelInspection } from '../model/index.ts';
import { CLOUD_ONLY_CUT, configuration, EDGE_ONLY_CUT, type Configuration } from '../policy/index.ts';

/** What the space needs of a cut point (model/index.ts CutPointInfo has all of it). */
export interface SpaceCut {
  name: string;
  /** Shape of the tensor crossing the link, batch included (its rank decides the codecs). */
  shape: readonly number[];
  /** Weight bytes of the head: what the edge must hold in memory. */
  paramBytesBefore: number;
}

/** The values each knob may take; the shape of hardware's `profileKnobs(profile)` plus codecs. */
export interface KnobSet {
  frequenciesMhz: readonly number[];
  threads: readonly number[];
  /** 'none' (CPU only) first, then the device's accelerator modes. */
  accelerators: readonly string[];
  cloudModes: readonly string[];
  /** Default: every codec (codec/index.ts CODEC_NAMES). */
  codecs?: readonly string[];
}

/** The edge side of a configuration, as a device's validity rules see it. */
export interface EdgeSetting {
  /** Weight bytes the edge holds (the head's). */
  paramBytes: number;
  frequencyMhz: number;
  threads: number;
  accelerator: string;
}

/** `rule` groups removals in describeSpace (default: the reason). */
export type Validity = { ok: true } | { ok: false; reason: string; rule?: string };
/** Device rules (memory, accelerator); hardware's `validConfiguration` bound to a profile fits. */
export type ValidityCheck = (setting: EdgeSetting) => Validity;

export interface RuleCount { rule: string; removed: number }

export interface Space {
  cuts: readonly SpaceCut[];
  knobs: Required<KnobSet>;
  /** Values per gene: [cuts, frequencies, threads, accelerators, codecs, cloud modes]. */
  radices: readonly number[];
  /** Mixed-radix indices of the valid configurations, ascending. */
  indices: Uint32Array;
  size: number;
  sizeBeforeRules: number;
  /**
   * Structural rules in the order applied, then device rules in the order first met; each counts
   * what it removed from what the earlier rules left.
   */
  rules: RuleCount[];
}

export type SpaceDescription = Pick<Space, 'size' | 'sizeBeforeRules' | 'rules'> & { radices: number[] };

const GENES = 6;
// Rules that follow from what a configuration means, in the order applied.
const RULE_EDGE_ONLY = 'edge-only: no codec and no cloud mode (one configuration per edge setting)';
const RULE_CLOUD_ONLY = 'cloud-only: no head runs on the edge, so edge threads and accelerator do not apply';
const RULE_TOKEN = 'int8-token only for rank-3 (token) tensors';
const RULE_CHANNEL = 'int8-channel only for tensors of rank >= 2';

/** input, every cut in topological order, output. */
export function cutsFromInspection(report: Pick<ModelInspection, 'input' | 'cutPoints' | 'output'>): SpaceCut[] {
  return [report.input, ...report.cutPoints, report.output];
}

export function withDefaults(knobs: KnobSet): Required<KnobSet> {
  return { ...knobs, codecs: knobs.codecs ?? CODEC_NAMES };
}

/**
 * Enumerates the valid configurations. Structural rules apply first (cloud-only, edge-only, codecs),
 * then the device check, once per (cut, frequency, threads, accelerator) that still has configurations.
 */
export function buildSpace(cuts: readonly SpaceCut[], knobSet: KnobSet, check?: ValidityCheck): Space {
  const knobs = withDefaults(knobSet);
  const radices = [cuts.length, knobs.frequenciesMhz.length, knobs.threads.length, knobs.accelerators.length, knobs.codecs.length, knobs.cloudModes.length];
  const sizeBeforeRules = radices.reduce((a, b) => a * b, 1);
  const counts = new Map<string, number>([RULE_CLOUD_ONLY, RULE_EDGE_ONLY, RULE_TOKEN, RULE_CHANNEL].map((r) => [r, 0]));
  const out = new Uint32Array(sizeBeforeRules);
  let size = 0;
  const inner = knobs.codecs.length * knobs.cloudModes.length;
  const codecOk = codecMasks(cuts, knobs.codecs);
  for (let cut = 0, index = 0; cut < cuts.length; cut++) {
    const kind = cutKind(cuts[cut].name);
    for (let f = 0; f < radices[1]; f++) {
      for (let t = 0; t < radices[2]; t++) {
        for (let a = 0; a < radices[3]; a++, index += inner) {
          if (kind === 'cloud-only' && (t > 0 || a > 0)) {
            bump(counts, RULE_CLOUD_ONLY, inner);
            continue;
          }
          const before = size;
          size = innerConfigurations(kind, codecOk[cut], knobs, index, out, size, counts);
          // Device rules last: they remove what the structural rules left of this edge setting.
          const verdict = size > before && check ? check(edgeSetting(cuts[cut], knobs, f, t, a)) : undefined;
          if (verdict && !verdict.ok) {
            bump(counts, verdict.rule ?? verdict.reason, size - before);
            size = before;
          }
        }
      }
    }
  }
  const rules = [...counts].map(([rule, removed]) => ({ rule, removed }));
  return { cuts, knobs, radices, indices: out.slice(0, size), size, sizeBeforeRules, rules };
}

/** Codec and cloud-mode genes under one edge setting; structural rules only. */
function innerConfigurations(kind: CutKind, codecOk: Uint8Array, knobs: Required<KnobSet>, base: number, out: Uint32Array, size: number, counts: Map<string, number>): number {
  const modes = knobs.cloudModes.length;
  for (let c = 0; c < knobs.codecs.length; c++) {
    for (let m = 0; m < modes; m++) {
      if (kind === 'edge-only' && (c > 0 || m > 0)) bump(counts, RULE_EDGE_ONLY, 1);
      else if (kind !== 'edge-only' && codecOk[c] !== 1) bump(counts, codecOk[c] === 2 ? RULE_TOKEN : RULE_CHANNEL, 1);
      else out[size++] = base + c * modes + m;
    }
  }
  return size;
}

/** Space size and what each rule removed, without keeping the configurations. */
export function describeSpace(cuts: readonly SpaceCut[], knobs: KnobSet, check?: ValidityCheck): SpaceDescription {
  const { size, sizeBeforeRules, rules, radices } = buildSpace(cuts, knobs, check);
  return { size, sizeBeforeRules, rules: rules.filter((r) => r.removed > 0), radices: [...radices] };
}

/** Genes of a mixed-radix index, written into `out`. */
export function genesOf(space: Pick<Space, 'radices'>, index: number, out: Int32Array = new Int32Array(GENES)): Int32Array {
  for (let g = GENES - 1; g >= 0; g--) {
    const r = space.radices[g];
    out[g] = index % r;
    index = Math.floor(index / r);
  }
  return out;
}

export function indexOf(space: Pick<Space, 'radices'>, genes: ArrayLike<number>): number {
  let index = 0;
  for (let g = 0; g < GENES; g++) index = index * space.radices[g] + genes[g];
  return index;
}

/** Whether the genes name a valid configuration (the same rules as buildSpace). */
export function isValidGenes(space: Pick<Space, 'cuts' | 'knobs'>, genes: ArrayLike<number>, check?: ValidityCheck): boolean {
  const cut = space.cuts[genes[0]];
  const kind = cutKind(cut.name);
  if (kind === 'edge-only' && (genes[4] > 0 || genes[5] > 0)) return false;
  if (kind === 'cloud-only' && (genes[2] > 0 || genes[3] > 0)) return false;
  if (kind !== 'edge-only' && codecAllowed(space.knobs.codecs[genes[4]], cut.shape.length) !== 1) return false;
  return check?.(edgeSetting(cut, space.knobs, genes[1], genes[2], genes[3])).ok ?? true;
}

/** The configuration at a mixed-radix index, named by policy's configurationName. */
export function configurationAt(space: Pick<Space, 'cuts' | 'knobs' | 'radices'>, index: number): Configuration {
  const [cut, f, t, a, c, m] = genesOf(space, index);
  const { knobs } = space;
  const name = space.cuts[cut].name;
  const kind = cutKind(name);
  return configuration({
    cut: name,
    codec: kind === 'edge-only' ? '' : knobs.codecs[c],
    edge_frequency_mhz: knobs.frequenciesMhz[f],
    edge_threads: kind === 'cloud-only' ? 0 : knobs.threads[t],
    edge_accelerator: kind === 'cloud-only' ? '' : knobs.accelerators[a],
    cloud_accelerator: kind === 'edge-only' ? '' : knobs.cloudModes[m],
  });
}

/** A memory rule: the head's weights must fit in `bytes` (for use without a device profile). */
export function memoryCheck(bytes: number): ValidityCheck {
  return (s) => (s.paramBytes <= bytes
    ? { ok: true }
    : { ok: false, rule: `head weights over the edge memory (${bytes} bytes)`, reason: `head weights ${s.paramBytes} bytes > ${bytes}` });
}

type CutKind = 'edge-only' | 'cloud-only' | 'split';

function cutKind(name: string): CutKind {
  return name === EDGE_ONLY_CUT ? 'edge-only' : name === CLOUD_ONLY_CUT ? 'cloud-only' : 'split';
}

function edgeSetting(cut: SpaceCut, knobs: Required<KnobSet>, f: number, t: number, a: number): EdgeSetting {
  return { paramBytes: cut.paramBytesBefore, frequencyMhz: knobs.frequenciesMhz[f], threads: knobs.threads[t], accelerator: knobs.accelerators[a] };
}

/** 1 allowed, 2 refused by the token rule, 3 by the channel rule. */
function codecAllowed(codec: string, rank: number): number {
  // Per-token scales are one per row of [tokens, D]: meant for [N, T, D] sequences (docs/codecs.md).
  if (codec === 'int8-token') return rank === 3 ? 1 : 2;
  // Per-channel scales index axis 1, which a rank-1 tensor does not have.
  if (codec === 'int8-channel') return rank >= 2 ? 1 : 3;
  return 1;
}

function codecMasks(cuts: readonly SpaceCut[], codecs: readonly string[]): Uint8Array[] {
  return cuts.map((cut) => Uint8Array.from(codecs, (codec) => codecAllowed(codec, cut.shape.length)));
}

function bump(counts: Map<string, number>, rule: string, n: number): void {
  counts.set(rule, (counts.get(rule) ?? 0) + n);
}
