/** The broker component's front door: start an MQTT broker (aedes) with shared subscriptions, TLS, accounts and ACLs. */
export { startBroker } from './broker.ts';
export type { BrokerDeps, BrokerHandle, BrokerStats } from './broker.ts';
export {
  DEFAULT_BROKER_OPTIONS, DEFAULT_CLOSE_TIMEOUT_MS, DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_DRAIN_TIMEOUT_MS, DEFAULT_HOST,
  DEFAULT_MAX_CONNECT_BYTES, DEFAULT_MAX_PACKET_BYTES, DEFAULT_MAX_PACKET_BYTES_BY_ROLE, DEFAULT_PORT, DEFAULT_PUBLISH_BYTES_PER_SECOND_BY_ROLE, DEFAULT_SENSOR_MAX_PACKET_BYTES, DEFAULT_SENSOR_PUBLISH_BYTES_PER_SECOND, MQTT_MAX_PACKET_BYTES, parseBrokerOptions, queueBytesOf,
} from './options.ts';
export type { BrokerOptions, PersistenceOptions } from './options.ts';
export type { SharedSubscriptionStats } from './shared-subscriptions.ts';
export { parseSharedFilter, topicMatches } from './topic-filter.ts';
export type { SharedFilter } from './topic-filter.ts';
export { filterCovers, mayPublish, mayRead, maySubscribe, permissionsFor } from './acl.ts';
export type { Permissions } from './acl.ts';
export type { AuthStats } from './auth.ts';
export {
  DEFAULT_POWER_TOPICS, DEFAULT_SCRYPT, hashPassword, loadUsersFile, parseUsersConfig, ROLES, verifyPassword,
} from './users.ts';
export type { Role, UserAccount, UsersConfig } from './users.ts';
export { mosquittoAcl } from './mosquitto-acl.ts';
