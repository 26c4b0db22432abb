/** The space of a class from what its nodes announce: their knobs, their cuts, and disagreements reported, not averaged. */
import { join } from 'node:path';
import { beforeAll, describe, expect, it, inject } from 'vitest';
import { loadProfile, type DeviceProfile } from '../../../hardware/index.ts';
import { inspectModel, type ModelInspection } from '../../../model/index.ts';
import { announcementOf } from '../../../node-runtime/index.ts';
import { classSpace, configurationsOf, devicesOfNodes, devicesOfProfile, parseAnnouncement, type AnnouncedNode } from '../../../optimizer/index.ts';
import { dynasplit, NodeAnnouncement } from '../../../schemas/index.ts';

const MODEL = 'vgg16-tiny';
let inspection: ModelInspection;
let allCuts: string[];

beforeAll(async () => {
  inspection = await inspectModel(join(inject('zooDir'), `${MODEL}.onnx`));
  allCuts = ['input', ...inspection.cutPoints.map((c) => c.name), 'output'];
});

/** A node as the optimizer reads it: announced through the real message, encoded and decoded. */
function node(nodeId: string, profile: DeviceProfile, role: 'edge' | 'cloud' = 'edge', cuts = allCuts): AnnouncedNode {
  const announcement = announcementOf({
    mqttUrl: 'mqtt://unused', role, nodeId, nodeClass: role === 'edge' ? 'c' : 'cloud', profile, models: [{ name: MODEL, cuts }], energySource: 'modelled',
  }, dynasplit.v1.NodeAnnouncement.State.UP);
  return parseAnnouncement(NodeAnnouncement.encode(NodeAnnouncement.create(announcement)).finish())!;
}

/** A host of `cores` cores at one frequency, as a calibrated host profile looks. */
function host(mhz: number, cores = 2): DeviceProfile {
  const rpi = loadProfile('rpi4');
  return { ...rpi, name: 'host', accelerators: [], cpu: { ...rpi.cpu, cores, frequenciesMhz: [mhz], activeW: { [String(mhz)]: 20 } } };
}

describe('class devices from announcements', () => {
  it('builds the space from the announced profile: only its frequency steps, cores and accelerators', () => {
    const edge = devicesOfNodes([node('e1', host(2500))]);
    const cloud = devicesOfNodes([node('w1', loadProfile('gpu-server'), 'cloud')]);
    expect(edge.disagreement).toBeUndefined();
    const configurations = configurationsOf(classSpace(MODEL, inspection, edge, cloud));
    expect(configurations.length).toBeGreaterThan(0);
    for (const c of configurations) {
      expect([0, 2500]).toContain(c.edge_frequency_mhz ?? 0);
      expect(c.edge_threads ?? 0).toBeLessThanOrEqual(2);
      expect([undefined, '', 'none']).toContain(c.edge_accelerator);
      expect(['', 'cpu', 'gpu']).toContain(c.cloud_accelerator ?? '');
    }
    // The override of the old default (an rpi4) offers steps this host does not have.
    const rpi = configurationsOf(classSpace(MODEL, inspection, devicesOfProfile(loadProfile('rpi4')), cloud));
    expect(rpi.some((c) => c.edge_frequency_mhz === 600)).toBe(true);
    expect(configurations.some((c) => c.edge_frequency_mhz === 600)).toBe(false);
  });

  it('keeps only the cuts the edges and (for the tail) the workers have', () => {
    const [first, second] = inspection.cutPoints.map((c) => c.name);
    const edge = devicesOfNodes([node('e1', host(2500), 'edge', ['input', first!, second!, 'output'])]);
    const cloud = devicesOfNodes([node('w1', loadProfile('gpu-server'), 'cloud', ['input', first!, 'output'])]);
    const cuts = new Set(configurationsOf(classSpace(MODEL, inspection, edge, cloud)).map((c) => c.cut));
    expect([...cuts].sort()).toEqual(['input', first!, 'output'].sort());
  });

  it('reports nodes of one class that disagree and plans for what all of them can run', () => {
    const nodes = [node('e1', host(2500, 4)), node('e2', host(3000, 2))];
    const edge = devicesOfNodes(nodes);
    expect(edge.disagreement).toBe('e1, e2 differ in frequencies, cores');
    // No frequency step is common to both, so no configuration runs on both: no policy rather than one that fails on a node.
    expect(edge.frequenciesMhz).toEqual([]);
    expect(edge.threads).toEqual([1, 2]);
    const cloud = devicesOfNodes([node('w1', loadProfile('gpu-server'), 'cloud')]);
    expect(classSpace(MODEL, inspection, edge, cloud).size).toBe(0);
    // Agreeing nodes are not reported.
    expect(devicesOfNodes([node('e1', host(2500)), node('e3', host(2500))]).disagreement).toBeUndefined();
  });
});
