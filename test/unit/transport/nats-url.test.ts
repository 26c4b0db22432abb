/** Which NATS server lists a node takes (transport/nats-url.ts), and how it refuses the others. */
import { describe, expect, it } from 'vitest';
import { checkNatsUrl } from '../../../transport/index.ts';
import { isDynasplitError } from '../../../common/index.ts';
import { parseEdgeOptions } from '../../../edge-node/index.ts';

const refusal = (url: string): string => {
  try {
    checkNatsUrl(url);
  } catch (err) {
    expect(isDynasplitError(err, 'DYNASPLIT_ERR_BAD_ARGS')).toBe(true);
    return (err as Error).message;
  }
  throw new Error(`accepted ${url}`);
};

describe('checkNatsUrl', () => {
  it('takes nats:// and tls:// URLs, bare host:port, credentials, IPv6 and lists', () => {
    for (const url of ['nats://127.0.0.1:4222', 'tls://nats.example:4222', 'NATS://Host', 'localhost:4222', 'nats-1',
      'nats://user:p%40ss@host:4222', 'nats://token@host', 'nats://[::1]:4222', 'nats://a:4222,nats://b:4222, tls://c:4222']) {
      expect(checkNatsUrl(url)).toBe(url);
    }
  });

  it('refuses another scheme, naming it, and hides a password', () => {
    expect(refusal('mqtt://127.0.0.1:1883')).toMatch(/got 'mqtt:\/\/127.0.0.1:1883': a mqtt:\/\/ URL is not a NATS server/);
    expect(refusal('nats://a:4222,http://b')).toMatch(/'http:\/\/b': a http:\/\/ URL/);
    const hidden = refusal('ws://edge:secret@host:8080');
    expect(hidden).not.toContain('secret');
  });

  it('refuses what is no address', () => {
    expect(refusal('')).toMatch(/not a server address/);
    expect(refusal('nats://')).toMatch(/not a server address/);
    expect(refusal('host:4222/path')).toMatch(/not a server address/);
    expect(refusal('nats://a b:4222')).toMatch(/not a server address/);
  });

  it('is checked with the node options when the transport is NATS, naming the flag', () => {
    expect(() => parseEdgeOptions({ transport: 'nats', natsUrl: 'mqtt://127.0.0.1:1883' })).toThrow(/edge node: the NATS URL \(--nats, DYNASPLIT_NATS_URL\) must be/);
    expect(parseEdgeOptions({ transport: 'mqtt', natsUrl: 'mqtt://unused' }).transport).toBe('mqtt');
  });
});
