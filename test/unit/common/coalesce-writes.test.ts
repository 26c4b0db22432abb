import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { coalesceWrites, FLUSH_BYTES } from '../../../common/coalesce-writes.ts';

/** A stream that records each batch the stream machinery hands it (one `writev` on a socket). */
function recorder(): { stream: Writable; batches: Buffer[][] } {
  const batches: Buffer[][] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) { batches.push([chunk]); callback(); },
    writev(chunks, callback) { batches.push(chunks.map((c) => c.chunk as Buffer)); callback(); },
  });
  return { stream, batches };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('coalesceWrites', () => {
  it('hands what one turn writes to the stream as one batch, in order, on the next setImmediate', async () => {
    const { stream, batches } = recorder();
    coalesceWrites(stream);
    for (const text of ['a', 'b', 'c']) expect(stream.write(Buffer.from(text))).toBe(true);
    expect(batches).toEqual([]);
    await turn();
    expect(batches.map((b) => Buffer.concat(b).toString())).toEqual(['abc']);
    stream.write(Buffer.from('d'));
    await turn();
    expect(batches.map((b) => Buffer.concat(b).toString())).toEqual(['abc', 'd']);
  });

  it('flushes at once on a chunk of FLUSH_BYTES or more, with what was corked before it', () => {
    const { stream, batches } = recorder();
    coalesceWrites(stream);
    stream.write(Buffer.from('header'));
    stream.write(Buffer.alloc(FLUSH_BYTES));
    expect(batches).toHaveLength(1);
    expect(batches[0]!.map((c) => c.length)).toEqual([6, FLUSH_BYTES]);
    expect(stream.writableCorked).toBe(0);
  });

  it('leaves a stream corked by its writer corked until the writer uncorks it', async () => {
    const { stream, batches } = recorder();
    coalesceWrites(stream);
    stream.cork(); // as mqtt-packet does around one packet
    stream.write(Buffer.alloc(FLUSH_BYTES));
    expect(batches).toEqual([]);
    stream.uncork();
    expect(batches).toHaveLength(1);
    await turn();
    expect(stream.writableCorked).toBe(0);
  });

  it('wraps a stream once', async () => {
    const { stream, batches } = recorder();
    coalesceWrites(stream);
    coalesceWrites(stream);
    stream.write(Buffer.from('x'));
    await turn();
    expect(batches).toHaveLength(1);
    expect(stream.writableCorked).toBe(0);
  });
});
