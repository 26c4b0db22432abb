/**
 * The bookkeeping of MQTT shared subscriptions (`$share/GROUP/FILTER`, MQTT 5 §4.8.2), without
 * sockets or aedes: who is a member of which group, who is away with a persistent session, and
 * which member each published packet goes to (round-robin, fixed at the first decision for the
 * packet). ./shared-subscriptions.ts connects it to aedes' hooks; its header says when aedes asks
 * which question.
 *
 * A member is anything with a client id, a closed flag and a clean flag (aedes' Client); whether it
 * still routes a filter, and at which QoS, is asked of the `routeQos` function given at construction.
 */
import { parseSharedFilter, topicMatches, type SharedFilter } from './topic-filter.ts';

/** What the bookkeeping reads of a client. */
export interface GroupMember {
  readonly id: string;
  readonly closed: boolean;
  /** clean=false: a persistent session, which keeps its subscriptions (and queue) while away */
  readonly clean: boolean;
}

/** The QoS `member` routes `filter` at, undefined when it has no route for it (any more). */
export type RouteQos<M> = (member: M, filter: string) => number | undefined;

/** Who gets a packet in one group: a connected member, the client id of an away one (its queue), no one. */
export type Pick<M> = M | string | null;

export interface SharedSubscriptionStats {
  groups: number;
  /** connected members */
  members: number;
  /** members away with a persistent session, which QoS 1/2 messages are queued for */
  away: number;
  /** messages forwarded to a group member chosen for them */
  delivered: number;
  /** (member, message) pairs skipped because another member was chosen */
  skipped: number;
  /** messages queued for an away member because no member was connected */
  queued: number;
}

/** A stored subscription of a persistent session (topic as the client sent it). */
export interface StoredMembership {
  clientId: string;
  topic: string;
  qos: number;
}

/**
 * Packets whose pick is remembered: from the enqueue (before the store write) to the end of the
 * delivery loop; far more than are ever between the two at once.
 */
const MEMO_PACKETS = 4096;

interface Group<M> {
  key: string;
  group: string;
  filter: string;
  /** connected members */
  members: M[];
  /** index in `members` where the next round-robin search starts */
  next: number;
  /** client ids of members away with a persistent session and a QoS>0 subscription; round-robin order */
  away: string[];
  /** index in `away` of the next one to queue for */
  nextAway: number;
}

interface MemberState<M> {
  /** plain topic filters of this member */
  normal: Set<string>;
  /** the groups it is a member of, with the QoS it subscribed at */
  groups: Map<Group<M>, number>;
  /** once true, every delivery to this member goes through `forward` */
  hadShared: boolean;
}

export class SharedGroups<M extends GroupMember> {
  readonly #routeQos: RouteQos<M>;
  readonly #groups = new Map<string, Group<M>>();
  readonly #members = new Map<M, MemberState<M>>();
  readonly #picks = new Map<string, Map<Group<M>, Pick<M>>>();
  #delivered = 0;
  #skipped = 0;
  #queued = 0;

  constructor(routeQos: RouteQos<M>) {
    this.#routeQos = routeQos;
  }

  /** A plain (not shared) subscription of `member`. */
  subscribed(member: M, filter: string): void {
    this.#state(member).normal.add(filter);
  }

  /** `member` subscribed to `$share/GROUP/FILTER` at `qos`; returns the members of the group now. */
  join(member: M, shared: SharedFilter, qos: number): number {
    const entry = this.#group(shared);
    if (!entry.members.includes(member)) entry.members.push(member);
    this.#removeAway(entry, member.id);
    const state = this.#state(member);
    state.groups.set(entry, qos);
    state.hadShared = true;
    return entry.members.length;
  }

  /**
   * Filters `member` unsubscribed from, as it sent them. Returns the plain filters whose route the
   * caller must remove: those of `$share/g/F` that no other subscription of the member still wants.
   */
  unsubscribed(member: M, topics: string[]): string[] {
    const state = this.#members.get(member);
    if (!state) return [];
    const unroute: string[] = [];
    for (const topic of topics) {
      const shared = parseSharedFilter(topic);
      if (shared) {
        const entry = this.#groups.get(groupKey(shared));
        if (entry && state.groups.has(entry)) this.#leave(member, entry);
        const stillWanted = state.normal.has(shared.filter) || [...state.groups.keys()].some((g) => g.filter === shared.filter);
        if (!stillWanted) unroute.push(shared.filter);
        continue;
      }
      // A plain filter: the member's one route for it, shared or not, is gone.
      state.normal.delete(topic);
      for (const entry of [...state.groups.keys()]) if (entry.filter === topic) this.#leave(member, entry);
    }
    return unroute;
  }

  /** A persistent session keeps its QoS>0 memberships while away, unless it is already back. */
  disconnected(member: M): void {
    const state = this.#members.get(member);
    if (!state) return;
    for (const [entry, qos] of [...state.groups]) {
      const back = entry.members.some((other) => other !== member && other.id === member.id && !other.closed);
      if (!member.clean && qos > 0 && member.id && !back) this.#addAway(entry, member.id);
      this.#leave(member, entry);
    }
    this.#members.delete(member);
  }

  /**
   * A clean=true session starts for `member.id`: nothing more is queued for the id, and an older
   * connection with the same id (which the new one takes over) stops being picked.
   */
  sessionEnded(member: M): void {
    for (const entry of [...this.#groups.values()]) this.#removeAway(entry, member.id);
    for (const [other, state] of this.#members) {
      if (other === member || other.id !== member.id) continue;
      for (const entry of [...state.groups.keys()]) this.#leave(other, entry);
    }
  }

  /** Memberships of a broker that ran before on the same store: QoS 1/2 ones are away members. */
  restore(stored: StoredMembership[]): void {
    for (const { clientId, topic, qos } of stored) {
      const shared = parseSharedFilter(topic);
      if (shared && qos > 0) this.#addAway(this.#group(shared), clientId);
    }
  }

  /**
   * Whether the packet identified by `key` (unique per published packet) on `topic` goes to
   * `member`: always unless it has joined a group; then when a plain filter of it matches, or when
   * some matching group has picked it.
   */
  forward(member: M, topic: string, key: string): boolean {
    const state = this.#members.get(member);
    if (!state?.hadShared) return true;
    for (const filter of state.normal) if (topicMatches(filter, topic)) return true;
    for (const group of state.groups.keys()) {
      if (!topicMatches(group.filter, topic)) continue;
      const chosen = this.#pick(group, key, false);
      // `member.id`: queued for this member while it was away, and it is back before the delivery.
      if (chosen === member || chosen === member.id) {
        this.#delivered += 1;
        return true;
      }
    }
    this.#skipped += 1;
    return false;
  }

  /**
   * The session queues a QoS 1/2 packet must go to, picked now for every matching group: an away
   * member's id when no member is connected, or a connected member with a persistent session and a
   * QoS>0 route (its queue holds in-flight messages).
   */
  queueTargets(topic: string, key: string): string[] {
    const targets: string[] = [];
    for (const entry of [...this.#groups.values()]) {
      if (!topicMatches(entry.filter, topic)) continue;
      const chosen = this.#pick(entry, key, true);
      if (typeof chosen === 'string') {
        this.#queued += 1;
        targets.push(chosen);
      } else if (chosen && !chosen.clean && (this.#routeQos(chosen, entry.filter) ?? 0) > 0) {
        targets.push(chosen.id);
      }
    }
    return targets;
  }

  stats(): SharedSubscriptionStats {
    let members = 0;
    let away = 0;
    for (const group of this.#groups.values()) {
      members += group.members.length;
      away += group.away.length;
    }
    return { groups: this.#groups.size, members, away, delivered: this.#delivered, skipped: this.#skipped, queued: this.#queued };
  }

  #state(member: M): MemberState<M> {
    let state = this.#members.get(member);
    if (!state) {
      state = { normal: new Set(), groups: new Map(), hadShared: false };
      this.#members.set(member, state);
    }
    return state;
  }

  #group(shared: SharedFilter): Group<M> {
    const key = groupKey(shared);
    let entry = this.#groups.get(key);
    if (!entry) {
      entry = { key, group: shared.group, filter: shared.filter, members: [], next: 0, away: [], nextAway: 0 };
      this.#groups.set(key, entry);
    }
    return entry;
  }

  #leave(member: M, entry: Group<M>): void {
    entry.members = entry.members.filter((other) => other !== member);
    this.#dropIfEmpty(entry);
    this.#members.get(member)?.groups.delete(entry);
  }

  #addAway(entry: Group<M>, clientId: string): void {
    if (!entry.away.includes(clientId)) entry.away.push(clientId);
  }

  #removeAway(entry: Group<M>, clientId: string): void {
    const index = entry.away.indexOf(clientId);
    if (index < 0) return;
    entry.away.splice(index, 1);
    if (entry.nextAway > index) entry.nextAway -= 1;
    this.#dropIfEmpty(entry);
  }

  #dropIfEmpty(entry: Group<M>): void {
    if (entry.members.length === 0 && entry.away.length === 0) this.#groups.delete(entry.key);
  }

  /**
   * The member that gets this packet: fixed at the first call for (packet, group); a connected one
   * round-robin, else, where the packet can wait in a queue (`mayQueue`), an away one round-robin.
   */
  #pick(entry: Group<M>, key: string, mayQueue: boolean): Pick<M> {
    let picks = this.#picks.get(key);
    if (!picks) {
      picks = new Map();
      this.#picks.set(key, picks);
      if (this.#picks.size > MEMO_PACKETS) this.#picks.delete(this.#picks.keys().next().value!);
    }
    const known = picks.get(entry);
    if (known !== undefined) return known;
    const chosen = this.#nextMember(entry) ?? (mayQueue ? this.#nextAway(entry) : null);
    picks.set(entry, chosen);
    return chosen;
  }

  /**
   * Round-robin over members that are still open and still route the filter: a closed client or one
   * whose route is being removed would receive nothing, and the message would be lost to the group.
   */
  #nextMember(entry: Group<M>): M | null {
    // A client closed before the broker registered it never disconnects: drop it here.
    for (const member of entry.members) if (member.closed) this.disconnected(member);
    const n = entry.members.length;
    for (let i = 0; i < n; i++) {
      const index = (entry.next + i) % n;
      const member = entry.members[index]!;
      if (!member.closed && this.#routeQos(member, entry.filter) !== undefined) {
        entry.next = index + 1;
        return member;
      }
    }
    return null;
  }

  #nextAway(entry: Group<M>): string | null {
    if (entry.away.length === 0) return null;
    const index = entry.nextAway % entry.away.length;
    entry.nextAway = index + 1;
    return entry.away[index]!;
  }
}

/** A ShareName has no '/', so GROUP/FILTER is unambiguous. */
function groupKey({ group, filter }: SharedFilter): string {
  return `${group}/${filter}`;
}
