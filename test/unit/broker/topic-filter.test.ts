import { describe, expect, it } from 'vitest';
import { parseSharedFilter, topicMatches } from '../../../broker/index.ts';
import { topics } from '../../../schemas/index.ts';

describe('parseSharedFilter (MQTT 5 §4.8.2)', () => {
  it('splits $share/GROUP/FILTER', () => {
    expect(parseSharedFilter('$share/edge/dynasplit/v1/frames/+')).toEqual({ group: 'edge', filter: 'dynasplit/v1/frames/+' });
    expect(parseSharedFilter('$share/g/#')).toEqual({ group: 'g', filter: '#' });
    // The protocol's own subscriptions (schemas/topics.ts).
    expect(parseSharedFilter(topics.framesShared())).toEqual({ group: 'edge', filter: 'dynasplit/v1/frames/+' });
    expect(parseSharedFilter(topics.tailRequestsShared())).toEqual({ group: 'cloud', filter: 'dynasplit/v1/tail/+' });
  });

  it('leaves plain filters alone', () => {
    expect(parseSharedFilter('dynasplit/v1/frames/+')).toBeUndefined();
    expect(parseSharedFilter('$SYS/#')).toBeUndefined();
    expect(parseSharedFilter('$shared/g/t')).toBeUndefined();
  });

  it('marks malformed shared filters', () => {
    for (const bad of ['$share/', '$share/g', '$share//t', '$share/g/', '$share/g+/t', '$share/+/t', '$share/#/t']) {
      expect(parseSharedFilter(bad), bad).toBeNull();
    }
  });
});

describe('topicMatches (MQTT 3.1.1 §4.7)', () => {
  it.each([
    ['a/+', 'a/b', true],
    ['a/+', 'a/b/c', false],
    ['a/+', 'a', false],
    ['a/+', 'a/', true],
    ['a/#', 'a', true],
    ['a/#', 'a/b/c', true],
    ['#', 'a/b', true],
    ['+/+', 'a/b', true],
    ['a/b', 'a/b', true],
    ['a/b', 'a/c', false],
    ['+/x', '$SYS/x', false],
    ['#', '$SYS/x', false],
    ['$SYS/#', '$SYS/x', true],
  ])('%s against %s: %s', (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });
});
