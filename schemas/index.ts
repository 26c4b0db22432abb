/**
 * Front door of the wire schemas: the generated protobuf classes under short names. Everything
 * outside schemas/ imports from here, never from schemas/gen/ (which is regenerated wholesale).
 */
import { dynasplit } from './gen/messages.js';

/** The whole generated tree, for messages not re-exported by name below. */
export { dynasplit };

/** One tensor on the wire (schemas/tensor.proto); `Tensor.encode(msg).finish()` gives its bytes. */
export const Tensor = dynasplit.v1.Tensor;
export type Tensor = dynasplit.v1.Tensor;
/** Plain-object form accepted by `Tensor.create` / `Tensor.encode` (all fields optional). */
export type TensorProperties = dynasplit.v1.Tensor.$Properties;

/** How `Tensor.data` is encoded; the decoded dtype is always float32. */
export const Codec = dynasplit.v1.Codec;
export type Codec = dynasplit.v1.Codec;

export const Frame = dynasplit.v1.Frame;
export type Frame = dynasplit.v1.Frame;
export type FrameProperties = dynasplit.v1.Frame.$Properties;
export const TailRequest = dynasplit.v1.TailRequest;
export type TailRequest = dynasplit.v1.TailRequest;
export type TailRequestProperties = dynasplit.v1.TailRequest.$Properties;
export const TailReply = dynasplit.v1.TailReply;
export type TailReply = dynasplit.v1.TailReply;
export type TailReplyProperties = dynasplit.v1.TailReply.$Properties;
export const Result = dynasplit.v1.Result;
export type Result = dynasplit.v1.Result;
export type ResultProperties = dynasplit.v1.Result.$Properties;
export const Policy = dynasplit.v1.Policy;
export type Policy = dynasplit.v1.Policy;
export type PolicyProperties = dynasplit.v1.Policy.$Properties;
export type ConfigurationProperties = dynasplit.v1.Configuration.$Properties;
export type PolicyEntryProperties = dynasplit.v1.PolicyEntry.$Properties;
export type ErrorInfoProperties = dynasplit.v1.ErrorInfo.$Properties;
export type LatencyProperties = dynasplit.v1.Latency.$Properties;

export const NodeAnnouncement = dynasplit.v1.NodeAnnouncement;
export type NodeAnnouncement = dynasplit.v1.NodeAnnouncement;
export type NodeAnnouncementProperties = dynasplit.v1.NodeAnnouncement.$Properties;
export const NodeStatus = dynasplit.v1.NodeStatus;
export type NodeStatus = dynasplit.v1.NodeStatus;
export type NodeStatusProperties = dynasplit.v1.NodeStatus.$Properties;
export type ModelPolicyStateProperties = dynasplit.v1.ModelPolicyState.$Properties;
export const OptimizerStatus = dynasplit.v1.OptimizerStatus;
export type OptimizerStatus = dynasplit.v1.OptimizerStatus;
export type OptimizerStatusProperties = dynasplit.v1.OptimizerStatus.$Properties;
export type OptimizedClassProperties = dynasplit.v1.OptimizedClass.$Properties;
export type NodeRefusalProperties = dynasplit.v1.NodeRefusal.$Properties;

export { encodeMessage } from './encode.ts';
export { peekStringField } from './peek.ts';
export { topics, subjects, checkId, checkModelName, MQTT_PREFIX, NATS_PREFIX, EDGE_GROUP, CLOUD_GROUP } from './topics.ts';
export { DEFAULT_FRAME_LIMITS, FRAME_LIMIT_NAMES, MAX_ERROR_MESSAGE_CHARS } from './limits.ts';
export type { FrameLimits } from './limits.ts';
export type { NodeRole } from './topics.ts';
