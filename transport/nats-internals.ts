/**
 * What dynasplit changes of nats.js beyond its public API, in one place (as common/mqtt-internals.ts
 * does for MQTT.js).
 *
 * @nats-io/transport-node 3.4's NodeTransport ignores `close()` until it has connected: `_closed`
 * returns at once while `connected` is false. A connect that times out waiting for the server's INFO
 * (a port that accepts and never speaks NATS: a wrong port, a firewall that accepts, a hung server)
 * is closed that way by nats-core's `dial`, so its socket stays open for ever: one more at each
 * retry of an edge that keeps trying, and a process that cannot exit after a fatal error or a
 * SIGTERM. `closeUnconnectedSockets` makes `close()` of a transport that never connected destroy its
 * socket, then do what the stock one does.
 *
 * Guarded: installed only while `_closed` still returns early for an unconnected transport, as read
 * in the source (STOCK_UNCONNECTED_RETURN); any other version keeps its own, and
 * test/unit/transport/nats-internals.test.ts fails so that the new source is read.
 */
import { createRequire } from 'node:module';

/** The early return of NodeTransport.prototype._closed in 3.4, whitespace collapsed. */
export const STOCK_UNCONNECTED_RETURN = 'if (!this.connected) return;';

interface TransportInternals {
  connected: boolean;
  done: boolean;
  socket?: { destroy(): void };
  close(err?: Error): Promise<void>;
  _closed(err?: Error, internal?: boolean): Promise<void>;
}

type TransportClass = { prototype: TransportInternals };

const require = createRequire(import.meta.url);
const { NodeTransport } = require('@nats-io/transport-node/lib/node_transport.js') as { NodeTransport: TransportClass };

/** Whether this nats.js's `_closed` still ignores a transport that never connected. */
export function closeIgnoresUnconnected(): boolean {
  const source = Function.prototype.toString.call(NodeTransport.prototype._closed).replace(/\s+/g, ' ');
  return source.includes(STOCK_UNCONNECTED_RETURN);
}

let installed = false;

/** Installs the close above on NodeTransport, once; false where the guard does not hold. */
export function closeUnconnectedSockets(): boolean {
  if (installed) return true;
  if (!closeIgnoresUnconnected()) return false;
  const stock = NodeTransport.prototype.close;
  NodeTransport.prototype.close = function close(this: TransportInternals, err?: Error): Promise<void> {
    if (!this.connected) {
      this.done = true;
      this.socket?.destroy();
    }
    return stock.call(this, err);
  };
  installed = true;
  return true;
}
