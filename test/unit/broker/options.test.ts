import { describe, expect, it } from 'vitest';
import {
  DEFAULT_CLOSE_TIMEOUT_MS, DEFAULT_HOST, DEFAULT_MAX_PACKET_BYTES, DEFAULT_PORT, DEFAULT_SENSOR_MAX_PACKET_BYTES, parseBrokerOptions, queueBytesOf,
  type BrokerOptions,
} from '../../../broker/index.ts';
import { isDynasplitError } from '../../../common/index.ts';
import { defaultEdgeOptions } from '../../../edge-node/index.ts';

function badArgs(partial: Record<string, unknown>): string {
  try {
    parseBrokerOptions(partial as Partial<BrokerOptions>);
  } catch (err) {
    expect(isDynasplitError(err, 'DYNASPLIT_ERR_BAD_ARGS')).toBe(true);
    return (err as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(partial)}`);
}

describe('parseBrokerOptions', () => {
  it('fills the defaults: all interfaces, 1883, no WebSocket, 64 MiB packets', () => {
    expect(parseBrokerOptions()).toEqual({
      host: DEFAULT_HOST, port: DEFAULT_PORT, wsPort: undefined,
      maxPacketBytes: DEFAULT_MAX_PACKET_BYTES, closeTimeoutMs: DEFAULT_CLOSE_TIMEOUT_MS,
      maxConnectBytes: 64 * 1024, connectTimeoutMs: 10_000, drainTimeoutMs: 10_000,
      maxPacketBytesByRole: { sensor: DEFAULT_SENSOR_MAX_PACKET_BYTES },
      publishBytesPerSecondByRole: { sensor: 16 * 1024 * 1024 },
    });
    expect(queueBytesOf(parseBrokerOptions())).toBe(2 * DEFAULT_MAX_PACKET_BYTES);
    expect([DEFAULT_HOST, DEFAULT_PORT, DEFAULT_MAX_PACKET_BYTES]).toEqual(['0.0.0.0', 1883, 64 * 1024 * 1024]);
  });

  it('takes given values and treats undefined as the default', () => {
    expect(parseBrokerOptions({ host: '127.0.0.1', port: 0, wsPort: 0, maxPacketBytes: 2048, closeTimeoutMs: undefined }))
      .toMatchObject({ host: '127.0.0.1', port: 0, wsPort: 0, maxPacketBytes: 2048, closeTimeoutMs: DEFAULT_CLOSE_TIMEOUT_MS });
  });

  it('rejects bad values with DYNASPLIT_ERR_BAD_ARGS naming the option', () => {
    expect(badArgs({ host: '' })).toMatch(/host/);
    expect(badArgs({ port: 65_536 })).toMatch(/port must be an integer from 0 to 65535/);
    expect(badArgs({ port: 1.5 })).toMatch(/port/);
    expect(badArgs({ maxKeepaliveS: 0 })).toMatch(/maxKeepaliveS must be an integer from 1 to 65535/);
    expect(badArgs({ maxKeepaliveS: 65_536 })).toMatch(/maxKeepaliveS/);
    expect(badArgs({ wsPort: -1 })).toMatch(/wsPort/);
    expect(badArgs({ port: 1883, wsPort: 1883 })).toMatch(/wsPort must differ from port/);
    expect(badArgs({ maxPacketBytes: 100 })).toMatch(/maxPacketBytes/);
    expect(badArgs({ maxPacketBytes: 2 ** 30 })).toMatch(/maxPacketBytes/);
    expect(badArgs({ closeTimeoutMs: '5' })).toMatch(/closeTimeoutMs/);
    expect(badArgs({ maxConnectBytes: 512 })).toMatch(/maxConnectBytes must be an integer from 1024/);
    expect(badArgs({ connectTimeoutMs: 0 })).toMatch(/connectTimeoutMs/);
    expect(badArgs({ maxPacketBytes: 4096, maxQueueBytes: 4095 })).toMatch(/maxQueueBytes must be an integer from 4096/);
    expect(badArgs({ drainTimeoutMs: -1 })).toMatch(/drainTimeoutMs/);
    expect(badArgs({ tcpPort: 1 })).toMatch(/tcpPort is not a broker option/);
    expect(badArgs({ persistence: '/var/lib/dynasplit' })).toMatch(/persistence must be \{ dir: DIRECTORY \}/);
    expect(badArgs({ persistence: { dir: ' ' } })).toMatch(/persistence/);
  });

  it('bounds a sensor account\'s packets by the largest frame an edge node takes, plus a PUBLISH header and topic', () => {
    const edgeFrameBytes = defaultEdgeOptions().maxFrameBytes;
    // 5 header bytes, a topic of 2 + 20 + 128 bytes, a 2-byte packet id
    expect(DEFAULT_SENSOR_MAX_PACKET_BYTES).toBeGreaterThanOrEqual(edgeFrameBytes + 5 + 150 + 2);
    expect(DEFAULT_SENSOR_MAX_PACKET_BYTES).toBeLessThanOrEqual(edgeFrameBytes + 1024);
  });

  it('takes role bounds role by role over the defaults, and refuses unknown roles and bounds under 1 KiB', () => {
    expect(parseBrokerOptions({ maxPacketBytesByRole: { meter: 4096 } }).maxPacketBytesByRole)
      .toEqual({ sensor: DEFAULT_SENSOR_MAX_PACKET_BYTES, meter: 4096 });
    expect(parseBrokerOptions({ maxPacketBytesByRole: { sensor: 65_536 } }).maxPacketBytesByRole).toEqual({ sensor: 65_536 });
    expect(badArgs({ maxPacketBytesByRole: { camera: 4096 } })).toMatch(/maxPacketBytesByRole names 'camera', not one of sensor/);
    expect(badArgs({ maxPacketBytesByRole: { sensor: 100 } })).toMatch(/maxPacketBytesByRole.sensor must be an integer from 1024/);
    expect(badArgs({ maxPacketBytesByRole: [4096] })).toMatch(/maxPacketBytesByRole must be \{ ROLE: NUMBER, ... \}/);
    expect(parseBrokerOptions({ publishBytesPerSecondByRole: { sensor: 65_536, meter: 4096 } }).publishBytesPerSecondByRole).toEqual({ sensor: 65_536, meter: 4096 });
    expect(badArgs({ publishBytesPerSecondByRole: { sensor: 10 } })).toMatch(/publishBytesPerSecondByRole.sensor must be an integer from 1024/);
  });

  it('keeps sessions in memory unless given a persistence directory', () => {
    expect(parseBrokerOptions().persistence).toBeUndefined();
    expect(parseBrokerOptions({ persistence: { dir: '/var/lib/dynasplit/broker' } }).persistence).toEqual({ dir: '/var/lib/dynasplit/broker' });
  });
});
