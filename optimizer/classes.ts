/**
 * The devices of a class, from what its nodes announced, pure: the knobs every node of the class
 * offers (and only those), the cuts every node has, the profiles whose rules a configuration must
 * pass, and whether the nodes disagree. Nodes of one class that announce different knobs or cuts are
 * reported, never averaged: the class's space is what all of them can run, and the cost model
 * predicts with the first node's profile (by id).
 */
import { profileKnobs, type DeviceProfile } from '../hardware/index.ts';
import type { ModelInspection } from '../model/index.ts';
import { buildSpace, configurationAt, cutsFromInspection, profileCheck, type KnobSet, type Space, type ValidityCheck } from '../pareto/index.ts';
import type { Configuration } from '../policy/index.ts';
import type { AnnouncedNode } from './nodes.ts';

export interface ClassDevices {
  /** Node ids of the class; empty for a profile given as an override. */
  nodes: string[];
  /** The profile predictions use: the override, or the first node's. */
  profile: DeviceProfile;
  /** Every distinct profile of the class: a configuration must pass all of their rules. */
  profiles: DeviceProfile[];
  frequenciesMhz: number[];
  threads: number[];
  accelerators: string[];
  cloudModes: string[];
  /** model -> the cuts every node has; undefined: any cut of the model (an override). */
  cuts?: ReadonlyMap<string, ReadonlySet<string>>;
  /** How the nodes differ, when they do. */
  disagreement?: string;
}

/** A class made of one profile given on the command line (an override): all its knobs, any cut. */
export function devicesOfProfile(profile: DeviceProfile): ClassDevices {
  const knobs = profileKnobs(profile);
  return { nodes: [], profile, profiles: [profile], ...knobs };
}

/** What a node offers, in one comparable string per aspect. */
function aspects(node: AnnouncedNode): Record<string, string> {
  const k = profileKnobs(node.profile);
  return {
    profile: node.profile.name,
    frequencies: k.frequenciesMhz.join(','),
    cores: String(k.threads.length),
    accelerators: k.accelerators.join(','),
    'cloud modes': k.cloudModes.join(','),
    memory: `${node.profile.memoryMb - node.profile.reserveMb} MB`,
    models: [...node.models].map(([m, cuts]) => `${m}:${cuts.join('|')}`).sort().join(' '),
  };
}

const intersect = <T>(lists: readonly (readonly T[])[]): T[] => lists.slice(1).reduce<T[]>((kept, l) => kept.filter((v) => l.includes(v)), [...(lists[0] ?? [])]);

/** The devices of the class `nodes` (one class, one role, at least one node, sorted by id). */
export function devicesOfNodes(nodes: readonly AnnouncedNode[]): ClassDevices {
  const knobs = nodes.map((n) => profileKnobs(n.profile));
  const profiles = [...new Map(nodes.map((n) => [JSON.stringify(n.profile), n.profile])).values()];
  const models = [...new Set(nodes.flatMap((n) => [...n.models.keys()]))];
  const cuts = new Map(models.map((m) => [m, new Set(intersect(nodes.map((n) => n.models.get(m) ?? [])))]));
  const first = aspects(nodes[0]!);
  const differing = Object.keys(first).filter((aspect) => nodes.some((n) => aspects(n)[aspect] !== first[aspect]));
  return {
    nodes: nodes.map((n) => n.nodeId),
    profile: nodes[0]!.profile,
    profiles,
    frequenciesMhz: intersect(knobs.map((k) => k.frequenciesMhz)),
    threads: intersect(knobs.map((k) => k.threads)),
    accelerators: intersect(knobs.map((k) => k.accelerators)),
    cloudModes: intersect(knobs.map((k) => k.cloudModes)),
    cuts,
    ...(differing.length > 0 ? { disagreement: `${nodes.map((n) => n.nodeId).join(', ')} differ in ${differing.join(', ')}` } : {}),
  };
}

/** A configuration must pass every profile's rules (memory, accelerator memory). */
function allOf(profiles: readonly DeviceProfile[]): ValidityCheck {
  const checks = profiles.map(profileCheck);
  return (setting) => checks.map((check) => check(setting)).find((v) => !v.ok) ?? { ok: true };
}

/**
 * The space of `model` between an edge class and the cloud workers: the cuts the edges have (and,
 * for the tail, the workers; edge-only needs none), the knobs all edges offer, the cloud modes all
 * workers offer ('' = the worker's default when they have none).
 */
export function classSpace(model: string, inspection: ModelInspection, edge: ClassDevices, cloud: ClassDevices, codecs?: readonly string[]): Space {
  const edgeCuts = edge.cuts?.get(model);
  const cloudCuts = cloud.cuts?.get(model);
  const cuts = cutsFromInspection(inspection).filter((c) => (!edgeCuts || edgeCuts.has(c.name))
    && (c.name === inspection.output.name || !cloudCuts || cloudCuts.has(c.name)));
  const knobs: KnobSet = {
    frequenciesMhz: edge.frequenciesMhz, threads: edge.threads, accelerators: edge.accelerators,
    cloudModes: cloud.cloudModes.length > 0 ? cloud.cloudModes : [''], ...(codecs ? { codecs } : {}),
  };
  return buildSpace(cuts, knobs, allOf(edge.profiles));
}

export function configurationsOf(space: Space): Configuration[] {
  return Array.from(space.indices, (index) => configurationAt(space, index));
}
