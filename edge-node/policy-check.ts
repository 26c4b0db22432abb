/**
 * Whether this edge node can run every entry of a policy, pure: each configuration is checked
 * against the node's own device profile (frequency steps, cores, accelerators and their memory,
 * main memory after the reserve: hardware/ validConfiguration) and the cuts it has parts for. A
 * policy is taken or refused whole (policy-store.ts; docs/protocol.md says why).
 */
import { validConfiguration, type DeviceProfile } from '../hardware/index.ts';
import { cutRefusal, type CutPointInfo, type ModelStore } from '../model/index.ts';
import type { Policy } from '../schemas/index.ts';

/** What a node can run: its profile, and per model its cuts with the head's weight bytes (what the edge holds). */
export interface NodeCapabilities {
  profile: DeviceProfile;
  /** model -> cut name -> head weight bytes ('input' 0, 'output' the whole model). */
  cuts: ReadonlyMap<string, ReadonlyMap<string, number>>;
  /** model -> its cut points the pipeline cannot use (not float32), to say why a policy naming one is refused. */
  nonFloatCuts?: ReadonlyMap<string, readonly Pick<CutPointInfo, 'name' | 'dtype'>[]>;
}

/** The first entry the node cannot run and why. */
export interface EntryRefusal {
  configuration: string;
  reason: string;
}

/** The capabilities of a node serving `models` as `profile`. */
export function capabilitiesOf(models: ModelStore, profile: DeviceProfile): NodeCapabilities {
  const cuts = new Map(models.names().map((name) => {
    const { inspection, cuts: names } = models.get(name);
    const bytes = new Map([inspection.input, ...inspection.cutPoints, inspection.output].map((c) => [c.name, c.paramBytesBefore]));
    return [name, new Map(names.map((cut) => [cut, bytes.get(cut) ?? 0]))];
  }));
  const nonFloatCuts = new Map(models.names().map((name) => [name, models.get(name).inspection.nonFloatCutPoints]));
  return { profile, cuts, nonFloatCuts };
}

/** undefined when the node can run every entry of `policy`; else the first entry it cannot run. */
export function policyRefusal(policy: Pick<Policy, 'model' | 'entries'>, node: NodeCapabilities): EntryRefusal | undefined {
  const cuts = node.cuts.get(policy.model);
  if (!cuts) return { configuration: '', reason: `this node does not serve model ${policy.model}` };
  for (const entry of policy.entries) {
    const c = entry.configuration;
    const name = c?.name || '(unnamed)';
    const paramBytes = cuts.get(c?.cut ?? '');
    if (!c || paramBytes === undefined) {
      return { configuration: name, reason: cutRefusal(node.nonFloatCuts?.get(policy.model) ?? [], policy.model, c?.cut ?? '') };
    }
    // 0 means "leave as is" / "the node's default" (schemas/pipeline.proto): nothing to check.
    const verdict = validConfiguration(node.profile, {
      paramBytes,
      frequencyMhz: c.edge_frequency_mhz || undefined,
      threads: c.edge_threads || undefined,
      accelerator: c.edge_accelerator || undefined,
    });
    if (!verdict.ok) return { configuration: name, reason: verdict.reason };
  }
  return undefined;
}
