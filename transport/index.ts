/**
 * Front door of the tensor transports: the contract (tensor-transport.ts) and its two
 * implementations. Wire protocol: docs/protocol.md.
 */
export type { RequestOptions, Serving, ServeOptions, TailHandler, TensorTransport } from './tensor-transport.ts';
export { createNatsTransport } from './nats-transport.ts';
export { checkNatsUrl } from './nats-url.ts';
export { connectLater } from './connect-later.ts';
export type { ConnectLaterOptions } from './connect-later.ts';
export type { NatsAuth, NatsTransportOptions } from './nats-transport.ts';
export { createMqttTransport, DEFAULT_MQTT_URL } from './mqtt-transport.ts';
export type { MqttTransportOptions } from './mqtt-transport.ts';
export { errorInfo, replyError } from './handling.ts';
export { shapeTransport, oneWayMs } from './shaped-transport.ts';
export type { LinkSettings, ShapedTransport } from './shaped-transport.ts';
