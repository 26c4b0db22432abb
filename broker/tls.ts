/**
 * The MQTT-over-TLS listener (MQTT 3.1.1 §5.4.5; port 8883 by convention). With a CA file it asks
 * every client for a certificate but does not require one (`requestCert`, `rejectUnauthorized:
 * false`): auth.ts logs in a client whose certificate the CA verified by its CN, and lets clients
 * without one log in with a password. The handshake itself refuses a client that does not speak TLS.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import type { BrokerOptions } from './options.ts';

export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
}

/** ms a client gets to finish the TLS handshake; Node's default is 120 s. */
const HANDSHAKE_TIMEOUT_MS = 10_000;

/** Reads the listener's PEM files; FILE_NOT_FOUND naming the one that cannot be read. */
export async function loadTlsFiles(options: Pick<BrokerOptions, 'certFile' | 'keyFile' | 'caFile'>): Promise<TlsFiles> {
  const [cert, key, ca] = await Promise.all([
    read('certFile', options.certFile!),
    read('keyFile', options.keyFile!),
    options.caFile === undefined ? undefined : read('caFile', options.caFile),
  ]);
  return { cert, key, ca };
}

async function read(option: string, file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (cause) {
    throw new DynasplitError(ErrorCodes.FILE_NOT_FOUND, `cannot read the broker's ${option} ${file}: ${(cause as Error).message}`,
      { cause, details: { file, option } });
  }
}

/** A TLS server handing each established connection to `onSocket`; BAD_ARGS for a key or certificate Node rejects. */
export function createTlsListener(files: TlsFiles, onSocket: (socket: TLSSocket) => void, logger: Logger): Server {
  let server: Server;
  try {
    server = createServer({
      cert: files.cert,
      key: files.key,
      ca: files.ca,
      requestCert: files.ca !== undefined,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    }, onSocket);
  } catch (cause) {
    throw new DynasplitError(ErrorCodes.BAD_ARGS, `the broker's TLS certificate or key is not usable: ${(cause as Error).message}`, { cause });
  }
  // A plain MQTT client on this port, a port scanner, a certificate the client rejects: routine.
  server.on('tlsClientError', (err, socket) => logger.debug({ err, remoteAddress: socket.remoteAddress }, 'TLS handshake failed'));
  return server;
}
