/**
 * What the optimizer knows of the nodes: their retained announcements (schemas/node.proto
 * NodeAnnouncement) and their policy status (NodeStatus), kept by node id as they arrive. Pure apart
 * from the clock: MQTT hands the messages in (live.ts).
 */
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import { validateProfile, type DeviceProfile } from '../hardware/index.ts';
import { dynasplit, NodeAnnouncement, NodeStatus, topics, type NodeRefusalProperties, type NodeRole } from '../schemas/index.ts';

export interface AnnouncedNode {
  nodeId: string;
  role: NodeRole;
  nodeClass: string;
  profile: DeviceProfile;
  /** model -> the cuts the node has parts for. */
  models: ReadonlyMap<string, readonly string[]>;
  energySource: string;
  softwareVersion: string;
  announcedAtMs: number;
}

/** A node that is up, or undefined for one that is gone (an empty payload or state GONE). Throws BAD_ARGS on a malformed one. */
export function parseAnnouncement(payload: Uint8Array): AnnouncedNode | undefined {
  if (payload.length === 0) return undefined;
  let decoded: NodeAnnouncement;
  let profile: DeviceProfile;
  try {
    decoded = NodeAnnouncement.decode(payload);
    if (decoded.state === dynasplit.v1.NodeAnnouncement.State.GONE) return undefined;
    profile = validateProfile(JSON.parse(decoded.profile_json), `the announcement of ${decoded.node_id}`);
  } catch (cause) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `node announcement not readable: ${(cause as Error).message}`, { cause });
  }
  if (decoded.role !== 'edge' && decoded.role !== 'cloud') {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `node announcement of ${decoded.node_id} has role '${decoded.role}'`);
  }
  return {
    nodeId: decoded.node_id,
    role: decoded.role,
    nodeClass: decoded.node_class,
    profile,
    models: new Map(decoded.models.map((m) => [m.name ?? '', [...(m.cuts ?? [])]])),
    energySource: decoded.energy_source,
    softwareVersion: decoded.software_version,
    announcedAtMs: decoded.announced_at_ms,
  };
}

export class NodeDirectory {
  readonly #nodes = new Map<string, AnnouncedNode>();
  readonly #status = new Map<string, NodeStatus>();

  /**
   * Takes a message on an announcement or node-status topic: true when it was one (a malformed one
   * included: `onBad` hears why), false for any other topic.
   */
  handle(topic: string, payload: Uint8Array, onBad: (err: Error) => void = () => undefined): boolean {
    const announced = topics.nodeOfAnnouncement(topic);
    if (announced) {
      const key = `${announced.role}/${announced.nodeId}`;
      try {
        const node = parseAnnouncement(payload);
        if (node && node.role === announced.role && node.nodeId === announced.nodeId) this.#nodes.set(key, node);
        else this.#nodes.delete(key);
      } catch (err) {
        this.#nodes.delete(key);
        onBad(err as Error);
      }
      return true;
    }
    const prefix = topics.nodeStatusAll().slice(0, -1);
    if (!topic.startsWith(prefix)) return false;
    const nodeId = topic.slice(prefix.length);
    try {
      if (payload.length === 0) this.#status.delete(nodeId);
      else this.#status.set(nodeId, NodeStatus.decode(payload));
    } catch (err) {
      onBad(err as Error);
    }
    return true;
  }

  /** Nodes that are up, of a role (and class), sorted by id. */
  nodes(role: NodeRole, nodeClass?: string): AnnouncedNode[] {
    return [...this.#nodes.values()]
      .filter((n) => n.role === role && (nodeClass === undefined || n.nodeClass === nodeClass))
      .sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1));
  }

  edgeClasses(): string[] {
    return [...new Set(this.nodes('edge').map((n) => n.nodeClass))].sort();
  }

  /**
   * The newest policy version in force on the edge nodes of a class for a model (0 when none): they
   * ignore a policy numbered at or below it, whoever published it. (A refused one is not in force.)
   */
  appliedVersion(model: string, edgeClass: string): number {
    let newest = 0;
    for (const s of this.#status.values()) {
      if (s.node_class !== edgeClass) continue;
      for (const p of s.policies) if (p.model === model) newest = Math.max(newest, p.applied_version ?? 0);
    }
    return newest;
  }

  /** Refusals the edge nodes report: the last policy each could not run, while it has applied none newer. */
  refusals(): NodeRefusalProperties[] {
    return [...this.#status.values()].flatMap((s) => s.policies
      .filter((p) => Boolean(p.refusal?.code))
      .map((p) => ({ node_id: s.node_id, model: p.model, version: p.refused_version, configuration: p.refused_configuration, reason: p.refusal?.message ?? '' })))
      .sort((a, b) => (a.node_id! < b.node_id! ? -1 : a.node_id! > b.node_id! ? 1 : 0));
  }
}
