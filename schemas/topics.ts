/**
 * Every MQTT topic and NATS subject of the protocol, built in one place (table: docs/protocol.md).
 * The version is part of every name so that v2 can run beside v1 on the same servers.
 */
import { DynasplitError, ErrorCodes } from '../common/index.ts';

export const MQTT_PREFIX = 'dynasplit/v1';
export const NATS_PREFIX = 'dynasplit.v1';

/** Default shared-subscription groups: edge nodes share the frame stream, cloud workers the tail requests. */
export const EDGE_GROUP = 'edge';
export const CLOUD_GROUP = 'cloud';

/**
 * An id used as one topic level / subject token: no MQTT wildcards or separators, no NATS
 * separators or wildcards, no whitespace, not empty, at most 128 characters.
 */
const ID = /^[A-Za-z0-9_\-:@~]{1,128}$/;

export function checkId(kind: string, id: string): string {
  if (!ID.test(id)) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS,
      `${kind} '${id}' is not a valid id: use 1-128 characters from A-Z a-z 0-9 _ - : @ ~`, { details: { [kind]: id } });
  }
  return id;
}

/** Model names may carry dots (file names); they travel as one level with dots kept. */
const MODEL = /^[A-Za-z0-9_\-.]{1,128}$/;

export function checkModelName(model: string): string {
  if (!MODEL.test(model)) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS,
      `model name '${model}' is not valid: use 1-128 characters from A-Z a-z 0-9 _ - .`, { details: { model } });
  }
  return model;
}

export const topics = {
  /** Sensor -> edge, QoS 1: one Frame per message. */
  frames: (sensorId: string) => `${MQTT_PREFIX}/frames/${checkId('sensor', sensorId)}`,
  /** What edge nodes subscribe to: all sensors' frames, shared by the group. */
  framesShared: (group = EDGE_GROUP) => `$share/${checkId('group', group)}/${MQTT_PREFIX}/frames/+`,
  /** The sensor id of a frames topic, or undefined when the topic is not one. */
  sensorOfFrames: (topic: string): string | undefined => {
    const prefix = `${MQTT_PREFIX}/frames/`;
    if (!topic.startsWith(prefix)) return undefined;
    const id = topic.slice(prefix.length);
    return ID.test(id) ? id : undefined;
  },
  /**
   * Optimizer (profiler) -> edge, QoS 1: Frames that may force a configuration (Frame.configuration),
   * answered on the results topic of `sensorId` like any frame. Only the optimizer role may publish here.
   */
  controlFrames: (sensorId: string) => `${MQTT_PREFIX}/control-frames/${checkId('sensor', sensorId)}`,
  /** What edge nodes subscribe to for the control channel, shared by the group. */
  controlFramesShared: (group = EDGE_GROUP) => `$share/${checkId('group', group)}/${MQTT_PREFIX}/control-frames/+`,
  /** The sensor id of a control-frames topic, or undefined when the topic is not one. */
  sensorOfControlFrames: (topic: string): string | undefined => {
    const prefix = `${MQTT_PREFIX}/control-frames/`;
    if (!topic.startsWith(prefix)) return undefined;
    const id = topic.slice(prefix.length);
    return ID.test(id) ? id : undefined;
  },
  /** Edge -> sensor, QoS 1: one Result per Frame. */
  results: (sensorId: string) => `${MQTT_PREFIX}/results/${checkId('sensor', sensorId)}`,
  /** Optimizer -> edge, QoS 1, retained: the current Policy of a model for a class of edge nodes. */
  policy: (model: string, edgeClass: string) => `${MQTT_PREFIX}/policy/${checkModelName(model).replaceAll('.', '_')}/${checkId('edge class', edgeClass)}`,
  /** What a cloud worker subscribes to: the policies of a model for every class of edge nodes (it loads their tails). */
  policies: (model: string) => `${MQTT_PREFIX}/policy/${checkModelName(model).replaceAll('.', '_')}/+`,
  /** MQTT tensor transport: edge -> cloud TailRequest for a model, QoS 1. */
  tailRequests: (model: string) => `${MQTT_PREFIX}/tail/${checkModelName(model).replaceAll('.', '_')}`,
  /** What cloud workers subscribe to on MQTT: every model's tail requests, shared by the group. */
  tailRequestsShared: (group = CLOUD_GROUP) => `$share/${checkId('group', group)}/${MQTT_PREFIX}/tail/+`,
  /** MQTT tensor transport: cloud -> edge TailReply, QoS 1. */
  tailReplies: (edgeId: string) => `${MQTT_PREFIX}/tail-replies/${checkId('edge', edgeId)}`,
  /** Node -> anyone, QoS 1, retained: a NodeAnnouncement (schemas/node.proto); `role` is 'edge' or 'cloud'. */
  announcement: (role: NodeRole, nodeId: string) => `${MQTT_PREFIX}/nodes/${checkRole(role)}/${checkId('node', nodeId)}`,
  /** What the optimizer subscribes to: every node's announcement. */
  announcementsAll: () => `${MQTT_PREFIX}/nodes/+/+`,
  /** What a sensor subscribes to while it waits for an edge (client/edge-wait.ts): the announcements of one role. */
  announcementsOf: (role: NodeRole) => `${MQTT_PREFIX}/nodes/${checkRole(role)}/+`,
  /** The role and node id of an announcement topic, or undefined when the topic is not one. */
  nodeOfAnnouncement: (topic: string): { role: NodeRole; nodeId: string } | undefined => {
    const prefix = `${MQTT_PREFIX}/nodes/`;
    if (!topic.startsWith(prefix)) return undefined;
    const [role, nodeId, ...rest] = topic.slice(prefix.length).split('/');
    return rest.length === 0 && (role === 'edge' || role === 'cloud') && ID.test(nodeId ?? '') ? { role, nodeId: nodeId! } : undefined;
  },
  /** Edge -> optimizer, QoS 1, retained: the node's NodeStatus (policies applied and refused). */
  nodeStatus: (nodeId: string) => `${MQTT_PREFIX}/node-status/${checkId('node', nodeId)}`,
  nodeStatusAll: () => `${MQTT_PREFIX}/node-status/+`,
  /** Optimizer -> anyone, QoS 1, retained: its OptimizerStatus after every round. */
  optimizerStatus: (optimizerId: string) => `${MQTT_PREFIX}/optimizer-status/${checkId('optimizer', optimizerId)}`,
} as const;

export type NodeRole = 'edge' | 'cloud';

function checkRole(role: string): NodeRole {
  if (role !== 'edge' && role !== 'cloud') throw new DynasplitError(ErrorCodes.BAD_ARGS, `node role must be edge or cloud, got '${role}'`);
  return role;
}

export const subjects = {
  /** NATS tensor transport: edge -> cloud TailRequest, request/reply in queue group `cloud`. */
  tail: (model: string) => `${NATS_PREFIX}.tail.${checkModelName(model).replaceAll('.', '_')}`,
  /** Every model's tail subject (what a worker serving all models subscribes to). */
  tailAll: () => `${NATS_PREFIX}.tail.*`,
} as const;
