/**
 * Shared-subscription bookkeeping without sockets: members are plain objects, routes a map, packets
 * a key and a topic.
 */
import { describe, expect, it } from 'vitest';
import { SharedGroups } from '../../../broker/shared-groups.ts';
import { parseSharedFilter } from '../../../broker/topic-filter.ts';

interface FakeMember {
  id: string;
  closed: boolean;
  clean: boolean;
  /** filter -> QoS of the member's routes */
  routes: Map<string, number>;
}

function member(id: string, options: { clean?: boolean } = {}): FakeMember {
  return { id, closed: false, clean: options.clean ?? true, routes: new Map() };
}

const groups = () => new SharedGroups<FakeMember>((m, filter) => m.routes.get(filter));

/** Joins `m` to `$share/GROUP/FILTER` and gives it the route the broker would. */
function join(g: SharedGroups<FakeMember>, m: FakeMember, share: string, qos = 1): void {
  const shared = parseSharedFilter(share)!;
  g.join(m, shared, qos);
  m.routes.set(shared.filter, qos);
}

/** Which of `members` get packet `key` on `topic`. */
function receivers(g: SharedGroups<FakeMember>, members: FakeMember[], topic: string, key: string): string[] {
  return members.filter((m) => g.forward(m, topic, key)).map((m) => m.id);
}

describe('SharedGroups', () => {
  it('gives each packet to one member, round-robin, and keeps the pick for the packet', () => {
    const g = groups();
    const ms = [member('a'), member('b'), member('c')];
    for (const m of ms) join(g, m, '$share/workers/frames/+');
    const got = Array.from({ length: 6 }, (_, i) => receivers(g, ms, 'frames/cam-1', `p${i}`));
    expect(got).toEqual([['a'], ['b'], ['c'], ['a'], ['b'], ['c']]);
    // Asked again (another listener of the same delivery loop): the same answer.
    expect(receivers(g, ms, 'frames/cam-1', 'p0')).toEqual(['a']);
    expect(g.stats()).toMatchObject({ groups: 1, members: 3, delivered: 7, skipped: 14 });
  });

  it('gives every group, and every client outside the groups, its own copy', () => {
    const g = groups();
    const [a, b, x, y, plain] = [member('a'), member('b'), member('x'), member('y'), member('plain')];
    join(g, a, '$share/g1/t/#');
    join(g, b, '$share/g1/t/#');
    join(g, x, '$share/g2/t/#');
    join(g, y, '$share/g2/t/#');
    g.subscribed(plain, 't/#');
    expect(receivers(g, [a, b, x, y, plain], 't/1', 'k1')).toEqual(['a', 'x', 'plain']);
    expect(receivers(g, [a, b, x, y, plain], 't/1', 'k2')).toEqual(['b', 'y', 'plain']);
  });

  it('forwards everything to a member whose plain filter matches too', () => {
    const g = groups();
    const [a, b] = [member('a'), member('b')];
    join(g, a, '$share/g/t');
    join(g, b, '$share/g/t');
    g.subscribed(a, 't');
    // The pick for k1 is a, for k2 b; a gets both through its plain subscription.
    expect(receivers(g, [a, b], 't', 'k1')).toEqual(['a']);
    expect(receivers(g, [a, b], 't', 'k2')).toEqual(['a', 'b']);
  });

  it('skips members that are closed or no longer route the filter', () => {
    const g = groups();
    const [a, b, c] = [member('a'), member('b'), member('c')];
    for (const m of [a, b, c]) join(g, m, '$share/g/t');
    b.closed = true;
    c.routes.delete('t');
    // Only open connections are delivered to; c still listens on another route that matches.
    expect(receivers(g, [a, c], 't', 'k1')).toEqual(['a']);
    expect(receivers(g, [a, c], 't', 'k2')).toEqual(['a']);
    // The closed one is dropped from the group; c is still a member, only without its route.
    expect(g.stats().members).toBe(2);
  });

  it('keeps a persistent QoS 1 member as away, queues for it when no member is connected, round-robin', () => {
    const g = groups();
    const [p1, p2, q0] = [member('p1', { clean: false }), member('p2', { clean: false }), member('q0', { clean: false })];
    join(g, p1, '$share/g/t');
    join(g, p2, '$share/g/t');
    join(g, q0, '$share/g/t', 0);
    for (const m of [p1, p2, q0]) { m.closed = true; g.disconnected(m); }
    expect(g.stats()).toMatchObject({ members: 0, away: 2 });
    expect([g.queueTargets('t', 'k1'), g.queueTargets('t', 'k2'), g.queueTargets('t', 'k3')]).toEqual([['p1'], ['p2'], ['p1']]);
    expect(g.stats().queued).toBe(3);
    // p1 reconnects (a new connection object) before k1 is delivered: the pick is its id, so it takes it.
    const back = member('p1', { clean: false });
    join(g, back, '$share/g/t');
    expect(g.forward(back, 't', 'k1')).toBe(true);
    expect(g.forward(back, 't', 'k2')).toBe(false);
    expect(g.stats()).toMatchObject({ members: 1, away: 1 });
  });

  it('prefers a connected member; queues for it only when its session is persistent with a QoS>0 route', () => {
    const g = groups();
    const [away, clean] = [member('away', { clean: false }), member('clean')];
    join(g, away, '$share/g/t');
    away.closed = true;
    g.disconnected(away);
    join(g, clean, '$share/g/t');
    expect(g.queueTargets('t', 'k1')).toEqual([]);
    expect(g.forward(clean, 't', 'k1')).toBe(true);
    const persistent = member('persistent', { clean: false });
    const g2 = groups();
    join(g2, persistent, '$share/g/t');
    expect(g2.queueTargets('t', 'k1')).toEqual(['persistent']);
    expect(g2.queueTargets('other', 'k2')).toEqual([]);
  });

  it('leaves a group on UNSUBSCRIBE, and names the routes no subscription wants any more', () => {
    const g = groups();
    const [a, b] = [member('a'), member('b')];
    join(g, a, '$share/g1/t');
    join(g, a, '$share/g2/t');
    join(g, b, '$share/g1/t');
    expect(g.unsubscribed(a, ['$share/g1/t'])).toEqual([]); // g2 still routes t
    expect(g.unsubscribed(a, ['$share/g2/t'])).toEqual(['t']);
    expect(receivers(g, [a, b], 't', 'k1')).toEqual(['b']);
    // A plain UNSUBSCRIBE of the filter removes the one route, and with it the memberships on it.
    join(g, a, '$share/g1/t');
    expect(g.unsubscribed(a, ['t'])).toEqual([]);
    expect(g.stats().members).toBe(1);
  });

  it('forgets an away member, and an older connection of the id, when a clean session starts', () => {
    const g = groups();
    const [old, away] = [member('dup'), member('away', { clean: false })];
    join(g, old, '$share/g/t');
    join(g, away, '$share/g/t');
    away.closed = true;
    g.disconnected(away);
    g.sessionEnded(member('away'));
    g.sessionEnded(member('dup'));
    expect(g.stats()).toMatchObject({ groups: 0, members: 0, away: 0 });
  });

  it('restores QoS 1/2 shared memberships of stored sessions as away members', () => {
    const g = groups();
    g.restore([
      { clientId: 'e1', topic: '$share/edge/frames/#', qos: 1 },
      { clientId: 'e2', topic: '$share/edge/frames/#', qos: 2 },
      { clientId: 'e3', topic: '$share/edge/frames/#', qos: 0 },
      { clientId: 'e4', topic: 'frames/#', qos: 1 },
    ]);
    expect(g.stats()).toMatchObject({ groups: 1, members: 0, away: 2 });
    expect([g.queueTargets('frames/a', 'k1'), g.queueTargets('frames/a', 'k2')]).toEqual([['e1'], ['e2']]);
  });

  it('lets every packet through to a client that never joined a group', () => {
    const g = groups();
    expect(g.forward(member('lone'), 'any/topic', 'k')).toBe(true);
    expect(g.stats()).toMatchObject({ delivered: 0, skipped: 0 });
  });
});
