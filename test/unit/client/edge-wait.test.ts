/** Which announcements tell a sensor that an edge serves its model (client/edge-wait.ts). */
import { describe, expect, it } from 'vitest';
import { servingEdge } from '../../../client/index.ts';
import { dynasplit, NodeAnnouncement, topics, type NodeAnnouncementProperties } from '../../../schemas/index.ts';

const { UP, GONE, STARTING } = dynasplit.v1.NodeAnnouncement.State;
const announcement = (over: Partial<NodeAnnouncementProperties> = {}) => NodeAnnouncement.encode(NodeAnnouncement.create({
  node_id: 'edge-1', role: 'edge', node_class: 'pi', state: UP, models: [{ name: 'other', cuts: [] }, { name: 'vgg16', cuts: ['input', 'output'] }], ...over,
})).finish();
const topic = topics.announcement('edge', 'edge-1');

describe('servingEdge', () => {
  it('is the edge of an UP announcement that lists the model', () => {
    expect(servingEdge(topic, announcement(), 'vgg16')).toEqual({ edgeId: 'edge-1', edgeClass: 'pi' });
  });

  it('is nothing for an edge starting or gone, another model, a cleared topic, or an unreadable payload', () => {
    expect(servingEdge(topic, announcement({ state: STARTING }), 'vgg16')).toBeUndefined();
    expect(servingEdge(topic, announcement({ state: GONE }), 'vgg16')).toBeUndefined();
    expect(servingEdge(topic, announcement(), 'resnet')).toBeUndefined();
    expect(servingEdge(topic, new Uint8Array(0), 'vgg16')).toBeUndefined();
    expect(servingEdge(topic, Uint8Array.of(0xff, 0xff, 0xff), 'vgg16')).toBeUndefined();
  });

  it('is nothing for a cloud worker, another topic, or an announcement under another node id', () => {
    expect(servingEdge(topics.announcement('cloud', 'edge-1'), announcement({ role: 'cloud' }), 'vgg16')).toBeUndefined();
    expect(servingEdge(topics.results('edge-1'), announcement(), 'vgg16')).toBeUndefined();
    expect(servingEdge(topics.announcement('edge', 'edge-2'), announcement(), 'vgg16')).toBeUndefined();
  });
});
