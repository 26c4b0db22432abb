/**
 * Which MQTT client ids an account may connect with (docs/security.md "Client ids"). Pure.
 *
 * A client id is the key of a session (MQTT 3.1.1 §3.1.3.1): whoever connects with it takes over
 * the connected client of that id and, without clean session, its stored subscriptions and queued
 * messages. So each id belongs to accounts:
 * - an account's name is its sensor or edge id, or else its username; an id belongs to the
 *   accounts with the longest name that the id equals or starts with followed by '-' (so `cam-1-7`
 *   is `cam-1`'s, not `cam`'s);
 * - edge accounts use exactly `<id>` (the edge node), `<id>-t` (its tail transport,
 *   node-runtime/runtime.ts) and `<id>-a` (its announcement, node-runtime/announce.ts);
 * - sensor, cloud, optimizer and meter accounts use their name or `<name>-<anything>` (a sensor's
 *   FrameClient connects as `<id>-<pid>-<n>`, client/frame-client.ts);
 * - admin accounts use any id that belongs to no other account.
 */
import type { UserAccount } from './users.ts';

/** The accounts' client-id namespaces, built once from the users file. */
export class ClientIdRules {
  readonly #byName = new Map<string, UserAccount[]>();

  constructor(accounts: readonly UserAccount[]) {
    for (const account of accounts) {
      const name = accountName(account);
      this.#byName.set(name, [...(this.#byName.get(name) ?? []), account]);
    }
  }

  /** Why `account` may not connect as `clientId`, or undefined when it may. */
  refusal(account: UserAccount, clientId: string): string | undefined {
    const owners = this.owners(clientId);
    if (account.role === 'admin') {
      return owners.length === 0 || owners.includes(account) ? undefined : `client id '${clientId}' belongs to account '${owners[0]!.username}'`;
    }
    const name = accountName(account);
    if (account.role === 'edge' && clientId !== name && clientId !== `${name}-t` && clientId !== `${name}-a`) {
      return `an edge account may connect only as '${name}', '${name}-t' or '${name}-a'`;
    }
    if (owners.includes(account)) return undefined;
    return owners.length === 0
      ? `a ${account.role} account may connect only as '${name}' or '${name}-<suffix>'`
      : `client id '${clientId}' belongs to account '${owners[0]!.username}'`;
  }

  /** The accounts `clientId` belongs to: those with the longest name it equals or extends with '-'. */
  owners(clientId: string): UserAccount[] {
    let prefix = clientId;
    for (;;) {
      const found = this.#byName.get(prefix);
      if (found) return found;
      const cut = prefix.lastIndexOf('-');
      if (cut <= 0) return [];
      prefix = prefix.slice(0, cut);
    }
  }
}

/** The name an account's client ids start with: its sensor or edge id, else its username. */
export function accountName(account: UserAccount): string {
  return account.id ?? account.username;
}
