import { describe, expect, it } from 'vitest';
import { ClientIdRules } from '../../../broker/client-ids.ts';
import type { UserAccount } from '../../../broker/index.ts';

const edge: UserAccount = { username: 'edge-1', role: 'edge', id: 'edge-1' };
const cam: UserAccount = { username: 'cam', role: 'sensor', id: 'cam' };
const cam1: UserAccount = { username: 'cam-1-login', role: 'sensor', id: 'cam-1' };
const cam1b: UserAccount = { username: 'cam-1-spare', role: 'sensor', id: 'cam-1' };
const cloud: UserAccount = { username: 'cloud-a', role: 'cloud' };
const root: UserAccount = { username: 'root', role: 'admin' };
const rules = new ClientIdRules([edge, cam, cam1, cam1b, cloud, root]);
const allowed = (account: UserAccount, clientId: string) => rules.refusal(account, clientId) === undefined;

describe('ClientIdRules', () => {
  it('an edge account uses exactly its id and its tail transport\'s', () => {
    expect(['edge-1', 'edge-1-t'].map((id) => allowed(edge, id))).toEqual([true, true]);
    expect(['edge-1-x', 'edge-2', 'edge', ''].map((id) => allowed(edge, id))).toEqual([false, false, false, false]);
    expect(rules.refusal(edge, 'edge-1-x')).toBe("an edge account may connect only as 'edge-1', 'edge-1-t' or 'edge-1-a'");
  });

  it('others use their name and its dash-extensions; the longest name owns an id', () => {
    expect(['cam', 'cam-7', 'cam-x-1'].map((id) => allowed(cam, id))).toEqual([true, true, true]);
    expect(allowed(cam, 'cam-1')).toBe(false);
    expect(allowed(cam, 'cam-1-99')).toBe(false);
    expect(rules.refusal(cam, 'cam-1-99')).toBe("client id 'cam-1-99' belongs to account 'cam-1-login'");
    expect(allowed(cam, 'camera')).toBe(false);
    expect(allowed(cam1, 'cam-1-99') && allowed(cam1b, 'cam-1-99')).toBe(true);
    expect(allowed(cloud, 'cloud-a') && allowed(cloud, 'cloud-a-2')).toBe(true);
    expect(rules.refusal(cloud, 'worker-1')).toBe("a cloud account may connect only as 'cloud-a' or 'cloud-a-<suffix>'");
    expect(allowed(cam, 'edge-1') || allowed(cloud, 'edge-1-t')).toBe(false);
  });

  it('an admin uses any id that belongs to no other account', () => {
    expect(['tool', 'mqttjs_1', 'root-1'].map((id) => allowed(root, id))).toEqual([true, true, true]);
    expect(['edge-1', 'edge-1-t', 'cam-3', 'cloud-a-x'].map((id) => allowed(root, id))).toEqual([false, false, false, false]);
  });

  it('owners: longest name first, none for a foreign id', () => {
    expect(rules.owners('cam-1-2-3')).toEqual([cam1, cam1b]);
    expect(rules.owners('cam-2')).toEqual([cam]);
    expect(rules.owners('-cam')).toEqual([]);
    expect(rules.owners('x')).toEqual([]);
  });
});
