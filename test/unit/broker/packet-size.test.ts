import { describe, expect, it } from 'vitest';
import { PacketSizeMeter } from '../../../broker/packet-size.ts';

/** An MQTT packet: header byte, Remaining Length (variable byte integer, MQTT 3.1.1 §2.2.3), body. */
function packet(bodyBytes: number, header = 0x30): Buffer {
  const length: number[] = [];
  let x = bodyBytes;
  do {
    let byte = x % 128;
    x = Math.floor(x / 128);
    if (x > 0) byte |= 0x80;
    length.push(byte);
  } while (x > 0);
  return Buffer.concat([Buffer.from([header, ...length]), Buffer.alloc(bodyBytes, 7)]);
}

function feedInPieces(meter: PacketSizeMeter, data: Buffer, piece: number) {
  for (let i = 0; i < data.length; i += piece) {
    const violation = meter.feed(data.subarray(i, i + piece));
    if (violation) return violation;
  }
  return undefined;
}

describe('PacketSizeMeter', () => {
  it('follows the framing of many packets in any chunking', () => {
    const stream = Buffer.concat([packet(0, 0xc0), packet(10), packet(127), packet(128), packet(16_383), packet(16_384), packet(0xe0)]);
    for (const piece of [1, 2, 3, 7, 1000, stream.length]) {
      expect(feedInPieces(new PacketSizeMeter(20_000), stream, piece), `chunks of ${piece}`).toBeUndefined();
    }
  });

  it('reports a packet over the bound from its header, before the body arrives', () => {
    const meter = new PacketSizeMeter(1000);
    expect(meter.feed(packet(500))).toBeUndefined();
    const big = packet(5000);
    expect(meter.feed(big.subarray(0, 3))).toEqual({ kind: 'too-large', packetBytes: 1 + 2 + 5000, limitBytes: 1000 });
  });

  it('counts the whole packet: a packet of exactly the bound passes, one byte more does not', () => {
    // 1 header byte + 2 length bytes + 997 body bytes = 1000
    expect(new PacketSizeMeter(1000).feed(packet(997))).toBeUndefined();
    expect(new PacketSizeMeter(1000).feed(packet(998))).toEqual({ kind: 'too-large', packetBytes: 1001, limitBytes: 1000 });
  });

  it('reports a Remaining Length longer than four bytes as malformed', () => {
    expect(new PacketSizeMeter(1000).feed(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]))).toEqual({ kind: 'malformed' });
  });

  it('accepts the largest length MQTT can express when the bound allows it', () => {
    expect(new PacketSizeMeter(1 + 4 + 268_435_455).feed(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f]))).toBeUndefined();
  });
});
