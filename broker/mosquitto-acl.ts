/**
 * The ACL of a users file written for Mosquitto 2.x's `acl_file` (mosquitto.conf(5)): one `user`
 * section per account with the filters of ./acl.ts, so an external broker enforces the rules this
 * one does. Passwords are not carried over: Mosquitto has its own hash format (`mosquitto_passwd`).
 *
 * Differences that Mosquitto's acl_file cannot express: it has no rule on the retain flag (an
 * account may retain on any topic it may write), and it refuses an unreadable subscription by not
 * delivering rather than with SUBACK 0x80.
 */
import { permissionsFor } from './acl.ts';
import type { UsersConfig } from './users.ts';

/**
 * The acl_file text. An account with a `certificateCn` gets a second section under that name, for a
 * TLS listener with `use_identity_as_username true` (the certificate's CN becomes the username).
 */
export function mosquittoAcl(config: UsersConfig): string {
  const lines = [
    '# dynasplit ACL for Mosquitto 2.x (acl_file); generated from a dynasplit users file.',
    '# The rules: docs/security.md. Retained publishes are not restricted here (acl_file cannot).',
  ];
  for (const user of config.users) {
    const names = [user.username, ...(user.certificateCn !== undefined && user.certificateCn !== user.username ? [user.certificateCn] : [])];
    const { publish, read } = permissionsFor(user.role, user.id, config.powerTopics);
    const rules = [
      ...publish.map((filter) => `topic ${read.includes(filter) ? 'readwrite' : 'write'} ${filter}`),
      ...read.filter((filter) => !publish.includes(filter)).map((filter) => `topic read ${filter}`),
    ];
    for (const name of names) lines.push('', `# ${user.role}${user.id !== undefined ? ` ${user.id}` : ''}`, `user ${name}`, ...rules);
  }
  return `${lines.join('\n')}\n`;
}
