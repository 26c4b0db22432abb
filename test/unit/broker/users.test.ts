/** The pure parts of broker security: password hashes, users-file validation, the ACL per role, the Mosquitto form. */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_POWER_TOPICS, filterCovers, hashPassword, mayPublish, mayRead, maySubscribe, mosquittoAcl, parseUsersConfig, permissionsFor,
  verifyPassword,
} from '../../../broker/index.ts';
import { isDynasplitError } from '../../../common/index.ts';

/** Cheap scrypt for tests: N = 2^10. */
const FAST = { N: 1024, r: 8, p: 1 };

describe('password hashes', () => {
  it('hash as scrypt$N$r$p$salt$hash with a fresh salt, and verify', async () => {
    const a = await hashPassword('correct horse', FAST);
    const b = await hashPassword('correct horse', FAST);
    expect(a).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('correct horse', a)).toBe(true);
    expect(await verifyPassword(Buffer.from('correct horse'), b)).toBe(true);
    expect(await verifyPassword('correct horsE', a)).toBe(false);
    expect(await verifyPassword('', a)).toBe(false);
  });

  it('refuse empty passwords and malformed hashes with BAD_ARGS', async () => {
    await expect(hashPassword('', FAST)).rejects.toSatisfy((e) => isDynasplitError(e, 'DYNASPLIT_ERR_BAD_ARGS'));
    for (const hash of ['bcrypt$x', 'scrypt$1000$8$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==', 'scrypt$1024$8$1$c2E=$aGFzaGhhc2hoYXNoaGFzaA==',
      'scrypt$1024$8$1$c2FsdHNhbHQ=$aGFzaA==', 'scrypt$1024$0$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==']) {
      await expect(verifyPassword('x', hash), hash).rejects.toSatisfy((e) => isDynasplitError(e, 'DYNASPLIT_ERR_BAD_ARGS'));
    }
  });
});

describe('users file', () => {
  it('fills defaults: sensor and edge accounts act under their username, Tasmota/Shelly power topics', async () => {
    const passwordHash = await hashPassword('pw', FAST);
    const config = parseUsersConfig({ users: [
      { username: 'cam-1', passwordHash, role: 'sensor' },
      { username: 'edge-a', certificateCn: 'edge-a.example', role: 'edge', id: 'edge-1' },
      { username: 'worker', passwordHash, role: 'cloud' },
      { username: 'cam-2', passwordHash, role: 'sensor', maxPacketBytes: 65_536 },
    ] });
    expect(config.powerTopics).toEqual(DEFAULT_POWER_TOPICS);
    expect(config.users.map((u) => [u.username, u.role, u.id, u.maxPacketBytes])).toEqual([
      ['cam-1', 'sensor', 'cam-1', undefined], ['edge-a', 'edge', 'edge-1', undefined], ['worker', 'cloud', undefined, undefined], ['cam-2', 'sensor', 'cam-2', 65_536],
    ]);
  });

  it('rejects what would weaken or confuse the rules, naming the problem', async () => {
    const passwordHash = await hashPassword('pw', FAST);
    const cases: [unknown, RegExp][] = [
      [{}, /expected \{ "users"/],
      [{ users: [], extra: 1 }, /unknown key 'extra'/],
      [{ users: [{ username: 'a', passwordHash, role: 'root' }] }, /role must be one of/],
      [{ users: [{ username: 'a', role: 'cloud' }] }, /needs a passwordHash, a certificateCn or both/],
      [{ users: [{ username: 'a', passwordHash, role: 'cloud', pasword: 'x' }] }, /unknown key 'pasword'/],
      [{ users: [{ username: 'a', passwordHash: 'plain', role: 'cloud' }] }, /bad password hash/],
      [{ users: [{ username: 'cam 1', passwordHash, role: 'sensor' }] }, /not a valid id/],
      [{ users: [{ username: 'cam-1', passwordHash, role: 'sensor', id: 'cam/+' }] }, /not a valid id/],
      [{ users: [{ username: 'a', passwordHash, role: 'cloud' }, { username: 'a', passwordHash, role: 'edge' }] }, /'a' appears twice/],
      [{ users: [{ username: 'a', certificateCn: 'x', role: 'cloud' }, { username: 'b', certificateCn: 'x', role: 'cloud' }] }, /'x' appears twice/],
      [{ users: [], powerTopics: ['tele/#/x'] }, /powerTopics/],
      [{ users: [], powerTopics: ['$SYS/#'] }, /powerTopics/],
      [{ users: [{ username: 'a', passwordHash, role: 'sensor', maxPacketBytes: 512 }] }, /maxPacketBytes must be an integer from 1024/],
      [{ users: [{ username: 'a', passwordHash, role: 'sensor', maxPacketBytes: '64k' }] }, /maxPacketBytes must be an integer/],
    ];
    for (const [json, message] of cases) {
      let error: unknown;
      try {
        parseUsersConfig(json);
      } catch (err) {
        error = err;
      }
      expect(isDynasplitError(error, 'DYNASPLIT_ERR_BAD_ARGS'), JSON.stringify(json)).toBe(true);
      expect((error as Error).message).toMatch(message);
    }
  });
});

describe('topic filter coverage', () => {
  it.each([
    ['a/+', 'a/b', true], ['a/+', 'a/+', true], ['a/+', 'a/#', false], ['a/+', 'a/b/c', false], ['a/#', 'a', true],
    ['a/#', 'a/+/c', true], ['a/#', 'b/c', false], ['+/+', 'a/b', true], ['a/b', 'a/+', false], ['#', '$SYS/x', false],
    ['$SYS/#', '$SYS/x', true], ['a/+/c', 'a/b/c', true], ['a/+/c', 'a/b/d', false],
  ])('%s covers %s: %s', (outer, inner, expected) => {
    expect(filterCovers(outer, inner)).toBe(expected);
  });
});

describe('permissions per role', () => {
  const power = ['tele/#'];
  const sensor = permissionsFor('sensor', 'cam-1', power);
  const edge = permissionsFor('edge', 'edge-1', power);
  const cloud = permissionsFor('cloud', undefined, power);
  const optimizer = permissionsFor('optimizer', undefined, power);
  const meter = permissionsFor('meter', undefined, power);
  const admin = permissionsFor('admin', undefined, power);

  it('a sensor publishes its own frames and reads its own results, nothing else', () => {
    expect(mayPublish(sensor, 'dynasplit/v1/frames/cam-1', false)).toBe(true);
    expect(mayPublish(sensor, 'dynasplit/v1/frames/cam-1', true)).toBe(false);
    expect(mayPublish(sensor, 'dynasplit/v1/frames/cam-2', false)).toBe(false);
    expect(mayPublish(sensor, 'dynasplit/v1/policy/m/c', false)).toBe(false);
    expect(maySubscribe(sensor, 'dynasplit/v1/results/cam-1')).toBe(true);
    expect(maySubscribe(sensor, 'dynasplit/v1/results/+')).toBe(false);
    expect(maySubscribe(sensor, 'dynasplit/v1/results/cam-2')).toBe(false);
    expect(maySubscribe(sensor, '#')).toBe(false);
    expect(mayRead(sensor, 'dynasplit/v1/results/cam-2')).toBe(false);
  });

  it('an edge node reads frames (shared or not), policies, its replies and power; publishes results and tail requests', () => {
    for (const f of ['$share/edge/dynasplit/v1/frames/+', 'dynasplit/v1/frames/+', 'dynasplit/v1/policy/m/c', 'dynasplit/v1/policy/+/+',
      'dynasplit/v1/tail-replies/edge-1', 'tele/plug-1/SENSOR']) expect(maySubscribe(edge, f), f).toBe(true);
    for (const f of ['dynasplit/v1/frames/#', 'dynasplit/v1/tail-replies/edge-2', 'dynasplit/v1/tail-replies/+', 'dynasplit/v1/results/+',
      '$share/cloud/dynasplit/v1/tail/+', '$share//dynasplit/v1/frames/+']) expect(maySubscribe(edge, f), f).toBe(false);
    expect(mayPublish(edge, 'dynasplit/v1/results/cam-1', false)).toBe(true);
    expect(mayPublish(edge, 'dynasplit/v1/tail/vgg16_onnx', false)).toBe(true);
    expect(mayPublish(edge, 'dynasplit/v1/policy/m/c', true)).toBe(false);
    expect(mayPublish(edge, 'dynasplit/v1/frames/cam-1', false)).toBe(false);
  });

  it('a cloud worker takes tail requests and answers on reply topics', () => {
    expect(maySubscribe(cloud, '$share/cloud/dynasplit/v1/tail/+')).toBe(true);
    expect(maySubscribe(cloud, 'dynasplit/v1/frames/+')).toBe(false);
    expect(mayPublish(cloud, 'dynasplit/v1/tail-replies/edge-1', false)).toBe(true);
    expect(mayPublish(cloud, 'dynasplit/v1/results/cam-1', false)).toBe(false);
  });

  it('only the optimizer and admin publish (retained) policies; meters own the power topics', () => {
    expect(mayPublish(optimizer, 'dynasplit/v1/policy/vgg16_onnx/rpi4', true)).toBe(true);
    expect(mayPublish(optimizer, 'dynasplit/v1/frames/x', false)).toBe(false);
    expect(mayPublish(optimizer, 'dynasplit/v1/control-frames/profiler', false)).toBe(true);
    expect(maySubscribe(optimizer, 'dynasplit/v1/results/profiler')).toBe(true);
    expect(maySubscribe(edge, '$share/edge/dynasplit/v1/control-frames/+')).toBe(true);
    for (const role of [sensor, edge, cloud, meter]) expect(mayPublish(role, 'dynasplit/v1/control-frames/cam-1', false)).toBe(false);
    expect(mayPublish(admin, 'dynasplit/v1/policy/m/c', true)).toBe(true);
    expect(mayPublish(meter, 'tele/plug-1/LWT', true)).toBe(true);
    expect(mayPublish(meter, 'dynasplit/v1/frames/x', false)).toBe(false);
    expect(maySubscribe(admin, '$SYS/#')).toBe(true);
  });

  it('writes the same rules as a Mosquitto acl_file, one section per account and certificate name', async () => {
    const passwordHash = await hashPassword('pw', FAST);
    const acl = mosquittoAcl(parseUsersConfig({ powerTopics: ['tele/#'], users: [
      { username: 'cam-1', passwordHash, role: 'sensor' },
      { username: 'edge-1', passwordHash, certificateCn: 'edge-1.local', role: 'edge' },
      { username: 'opt', passwordHash, role: 'optimizer' },
    ] }));
    expect(acl).toContain('user cam-1\ntopic write dynasplit/v1/frames/cam-1\ntopic read dynasplit/v1/results/cam-1\n');
    expect(acl).toContain('user edge-1\ntopic write dynasplit/v1/results/+\ntopic write dynasplit/v1/tail/+\n'
      + 'topic write dynasplit/v1/nodes/edge/edge-1\ntopic write dynasplit/v1/node-status/edge-1\ntopic read dynasplit/v1/frames/+\n'
      + 'topic read dynasplit/v1/control-frames/+\ntopic read dynasplit/v1/policy/+/+\ntopic read dynasplit/v1/tail-replies/edge-1\ntopic read dynasplit/v1/nodes/+/+\ntopic read tele/#\n');
    expect(acl).toContain('user edge-1.local\n');
    expect(acl).toContain('user opt\ntopic readwrite dynasplit/v1/policy/+/+\n');
    expect(acl).toContain('topic write dynasplit/v1/control-frames/+\n');
  });
});
