/**
 * Throwaway X.509 material for TLS tests, made with the `openssl` command line (OpenSSL 3.x; Node's
 * crypto makes keys but cannot sign certificates): a CA, a server certificate for 127.0.0.1 and
 * localhost, and client certificates whose CN names an account. EC P-256 keys, valid for a day.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CertFiles {
  /** PEM file paths */
  certFile: string;
  keyFile: string;
  /** the same files' contents */
  cert: string;
  key: string;
}

export interface TestPki {
  dir: string;
  caFile: string;
  ca: string;
  server: CertFiles;
  /** A client certificate with this CN, signed by this CA (made once per CN). */
  client(cn: string): CertFiles;
  /** A CA of its own and a client certificate signed by it: one the server must not accept. */
  foreignClient(cn: string): CertFiles;
  /** Removes the directory. */
  remove(): void;
}

const KEY_ARGS = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Throws with openssl's stderr when it is missing or fails. */
function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeCa(dir: string, name: string): void {
  openssl(['req', '-x509', ...KEY_ARGS, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '1',
    '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
}

function sign(dir: string, ca: string, name: string, cn: string, extensions: string): CertFiles {
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, `${extensions}\n`);
  openssl(['req', ...KEY_ARGS, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], dir);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial',
    '-out', `${name}.crt`, '-days', '1', '-extfile', ext], dir);
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  return { certFile, keyFile, cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
}

/** Makes a CA and a server certificate in a fresh temp dir; client certificates on demand. */
export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'dynasplit-pki-'));
  makeCa(dir, 'ca');
  const server = sign(dir, 'ca', 'server', 'localhost',
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature');
  const clients = new Map<string, CertFiles>();
  let foreignCa = false;
  const clientExt = 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature';
  return {
    dir,
    caFile: join(dir, 'ca.crt'),
    ca: readFileSync(join(dir, 'ca.crt'), 'utf8'),
    server,
    client(cn) {
      let files = clients.get(cn);
      if (!files) {
        files = sign(dir, 'ca', `client-${clients.size}`, cn, clientExt);
        clients.set(cn, files);
      }
      return files;
    },
    foreignClient(cn) {
      if (!foreignCa) makeCa(dir, 'foreign-ca');
      foreignCa = true;
      return sign(dir, 'foreign-ca', `foreign-${cn.replace(/[^A-Za-z0-9]/g, '_')}`, cn, clientExt);
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
