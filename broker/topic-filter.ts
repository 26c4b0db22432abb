/** Pure topic helpers for shared subscriptions: parse `$share/GROUP/FILTER`, match a filter. */

export const SHARE_PREFIX = '$share/';

export interface SharedFilter {
  /** The ShareName (MQTT 5 §4.8.2). */
  group: string;
  /** The Topic Filter after the ShareName: what routing matches. */
  filter: string;
}

/**
 * `{ group, filter }` for a shared subscription, `null` for a malformed one, `undefined` for a
 * topic filter that is not shared at all.
 *
 * MQTT 5 §4.8.2: "$share/" then a ShareName of at least one character [MQTT-4.8.2-1] that contains
 * none of "/", "+", "#" and is followed by "/" and a Topic Filter [MQTT-4.8.2-2]. aedes has already
 * checked wildcard placement over the whole string (lib/utils.js validateTopic), which covers the
 * filter part too.
 */
export function parseSharedFilter(topic: string): SharedFilter | null | undefined {
  if (!topic.startsWith(SHARE_PREFIX)) return undefined;
  const rest = topic.slice(SHARE_PREFIX.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return null;
  const group = rest.slice(0, slash);
  const filter = rest.slice(slash + 1);
  if (group.includes('+') || group.includes('#') || filter.length === 0) return null;
  return { group, filter };
}

/**
 * Whether a topic name matches a topic filter, by MQTT 3.1.1 §4.7: `+` is exactly one level (which
 * may be empty), `#` is any number of levels including the parent (`a/#` matches `a`), and a filter
 * that starts with a wildcard does not match a topic that starts with `$` (§4.7.2).
 */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
