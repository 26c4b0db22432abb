/**
 * The NATS server list a node is given (`--nats`, DYNASPLIT_NATS_URL): one or more comma-separated
 * `nats://HOST:PORT`, `tls://HOST:PORT` or bare `HOST[:PORT]`. nats.js drops any scheme it is given
 * and dials the port, so `mqtt://host:1883` would dial the MQTT broker as a NATS server and fail only
 * after its connect timeout, naming neither the URL nor the cause: refused here, at start.
 */
import { DynasplitError, ErrorCodes, redactUrl } from '../common/index.ts';

const NATS_SCHEMES = ['nats', 'tls'];
/** A host name, an IPv4 address or a bracketed IPv6 one, with an optional port; user info allowed. */
const HOST_PORT = /^([^/@\s]*@)?([\w.-]+|\[[0-9a-fA-F:.]+\])(:\d{1,5})?\/?$/;

/** The list unchanged, or DYNASPLIT_ERR_BAD_ARGS naming `source` and the first bad entry. */
export function checkNatsUrl(urls: string, source = 'the NATS URL'): string {
  for (const entry of urls.split(',')) {
    const url = entry.trim();
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
    const rest = scheme === undefined ? url : url.slice(scheme.length + 3);
    if ((scheme === undefined || NATS_SCHEMES.includes(scheme)) && HOST_PORT.test(rest)) continue;
    const why = scheme !== undefined && !NATS_SCHEMES.includes(scheme) ? `a ${scheme}:// URL is not a NATS server` : 'not a server address';
    throw new DynasplitError(ErrorCodes.BAD_ARGS,
      `${source} must be nats://HOST:PORT, tls://HOST:PORT or HOST:PORT (several comma-separated); got '${redactUrl(url)}': ${why}`,
      { details: { url: redactUrl(url) } });
  }
  return urls;
}
