/** The optimizer's view of the nodes' policy status (optimizer/nodes.ts): what a new policy must be numbered above. */
import { describe, expect, it } from 'vitest';
import { NodeDirectory } from '../../../optimizer/nodes.ts';
import { NodeStatus, topics, type NodeStatusProperties } from '../../../schemas/index.ts';

const status = (s: NodeStatusProperties) => NodeStatus.encode(NodeStatus.create(s)).finish();

describe('NodeDirectory.appliedVersion', () => {
  it('is the newest version in force on the class\'s edges for the model; refused ones, other classes and models do not count', () => {
    const d = new NodeDirectory();
    expect(d.appliedVersion('m', 'default')).toBe(0);
    d.handle(topics.nodeStatus('e1'), status({ node_id: 'e1', node_class: 'default', policies: [{ model: 'm', applied_version: 1_800_000_100 }, { model: 'x', applied_version: 2_000_000_000 }] }));
    d.handle(topics.nodeStatus('e2'), status({ node_id: 'e2', node_class: 'default', policies: [{ model: 'm', applied_version: 1_800_000_000, refused_version: 1_800_000_200 }] }));
    d.handle(topics.nodeStatus('p1'), status({ node_id: 'p1', node_class: 'pi', policies: [{ model: 'm', applied_version: 1_900_000_000 }] }));
    expect(d.appliedVersion('m', 'default')).toBe(1_800_000_100);
    expect(d.appliedVersion('m', 'pi')).toBe(1_900_000_000);
    // A stopped edge clears its status (an empty retained message): its versions no longer count.
    d.handle(topics.nodeStatus('e1'), new Uint8Array(0));
    expect(d.appliedVersion('m', 'default')).toBe(1_800_000_000);
  });
});
