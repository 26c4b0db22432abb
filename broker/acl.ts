/**
 * Who may do what on MQTT, per role (docs/security.md has the same table, and the same rules for
 * Mosquitto). Pure: an account's permissions are three lists of topic filters built from
 * schemas/topics.ts; the checks below match topics and filters against them.
 *
 * - publish: a PUBLISH topic must match one of them;
 * - retain: a retained PUBLISH must also match one of these (only policies, and power readings);
 * - read: a SUBSCRIBE filter must lie within one of them (for `$share/GROUP/F`, F must), and every
 *   message forwarded to the client must match one (which also covers queued messages of a
 *   persistent session and retained messages).
 */
import { MQTT_PREFIX } from '../schemas/index.ts';
import { parseSharedFilter, topicMatches } from './topic-filter.ts';
import type { Role } from './users.ts';

export interface Permissions {
  publish: readonly string[];
  retain: readonly string[];
  read: readonly string[];
}

const P = MQTT_PREFIX;
const POLICIES = `${P}/policy/+/+`;
/** frames with a forced configuration (edge-node: honoured only here), from the optimizer's profiler */
const CONTROL_FRAMES = `${P}/control-frames/+`;

/**
 * The permissions of an account of `role` acting as `id` (sensor and edge accounts always have
 * one). `powerTopics`: the filters smart plugs publish power readings under.
 */
export function permissionsFor(role: Role, id: string | undefined, powerTopics: readonly string[]): Permissions {
  switch (role) {
    case 'sensor':
      // Edges' announcements: a sensor waits for an edge that serves its model (client/edge-wait.ts).
      return { publish: [`${P}/frames/${need(id, role)}`], retain: [], read: [`${P}/results/${need(id, role)}`, `${P}/nodes/edge/+`] };
    case 'edge':
      return {
        publish: [`${P}/results/+`, `${P}/tail/+`, `${P}/nodes/edge/${need(id, role)}`, `${P}/node-status/${need(id, role)}`],
        retain: [`${P}/nodes/edge/${need(id, role)}`, `${P}/node-status/${need(id, role)}`],
        // Nodes' announcements: over MQTT the edge knows which workers serve a model (transport/mqtt-workers.ts).
        read: [`${P}/frames/+`, CONTROL_FRAMES, POLICIES, `${P}/tail-replies/${need(id, role)}`, `${P}/nodes/+/+`, ...powerTopics],
      };
    case 'cloud':
      // Policies: a worker loads the tails they name before the edges ask for them (cloud-worker/policy-tails.ts).
      return { publish: [`${P}/tail-replies/+`, `${P}/nodes/cloud/+`], retain: [`${P}/nodes/cloud/+`], read: [`${P}/tail/+`, POLICIES, ...powerTopics] };
    case 'optimizer':
      return {
        // The profiler's control channel: forced configurations, answered on the results topics.
        publish: [POLICIES, `${P}/optimizer-status/+`, CONTROL_FRAMES], retain: [POLICIES, `${P}/optimizer-status/+`],
        read: [POLICIES, `${P}/nodes/+/+`, `${P}/node-status/+`, `${P}/optimizer-status/+`, `${P}/results/+`],
      };
    case 'meter':
      return { publish: [...powerTopics], retain: [...powerTopics], read: [...powerTopics] };
    case 'admin':
      // '#' matches no '$' topic (MQTT 3.1.1 §4.7.2): reading $SYS is granted by name.
      return { publish: ['#'], retain: ['#'], read: ['#', '$SYS/#'] };
  }
}

function need(id: string | undefined, role: Role): string {
  if (id === undefined) throw new Error(`a ${role} account needs an id`);
  return id;
}

export function mayPublish(permissions: Permissions, topic: string, retain: boolean): boolean {
  if (!permissions.publish.some((filter) => topicMatches(filter, topic))) return false;
  return !retain || permissions.retain.some((filter) => topicMatches(filter, topic));
}

/** Whether a SUBSCRIBE filter (plain or `$share/GROUP/F`) lies within what the account may read. */
export function maySubscribe(permissions: Permissions, filter: string): boolean {
  const shared = parseSharedFilter(filter);
  if (shared === null) return false;
  const wanted = shared?.filter ?? filter;
  return permissions.read.some((allowed) => filterCovers(allowed, wanted));
}

export function mayRead(permissions: Permissions, topic: string): boolean {
  return permissions.read.some((filter) => topicMatches(filter, topic));
}

/**
 * Whether every topic `inner` matches is also matched by `outer` (MQTT 3.1.1 §4.7): `#` covers any
 * rest, `+` covers any one level (but not a `#`), a literal level only itself. A filter starting with
 * a wildcard covers no `$` topic (§4.7.2).
 */
export function filterCovers(outer: string, inner: string): boolean {
  const o = outer.split('/');
  const i = inner.split('/');
  if (inner.startsWith('$') && (o[0] === '+' || o[0] === '#')) return false;
  for (let k = 0; k < o.length; k++) {
    if (o[k] === '#') return true;
    if (k >= i.length || i[k] === '#') return false;
    if (o[k] === '+') continue;
    if (i[k] === '+' || o[k] !== i[k]) return false;
  }
  return o.length === i.length;
}
