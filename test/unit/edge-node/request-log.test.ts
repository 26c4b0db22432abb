import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCodes, silentLogger } from '../../../common/index.ts';
import { decodeRecords, encodeRecord, RecordKind, recordChunks } from '../../../edge-node/journal-records.ts';
import { stateIdentity } from '../../../edge-node/state-dir.ts';
import { RequestLog } from '../../../edge-node/request-log.ts';

const dirs: string[] = [];
function stateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dynasplit-journal-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

const bytes = (text: string) => new Uint8Array(Buffer.from(text));
const text = (data: Uint8Array | undefined) => (data ? Buffer.from(data).toString() : undefined);
const open = (dir: string, capacity = 100, segmentBytes?: number) => RequestLog.open({ capacity, maxBytes: 1 << 30, dir, logger: silentLogger(), segmentBytes });

describe('journal records', () => {
  it('round-trip, and a torn or corrupt tail ends the replay there', () => {
    const records = [
      { kind: RecordKind.frame, key: 's/1', sensorId: 's', payload: bytes('frame one') },
      { kind: RecordKind.result, key: 's/1', sensorId: 's', payload: bytes('result') },
      { kind: RecordKind.sent, key: 's/1', sensorId: 's', payload: new Uint8Array(0) },
    ];
    const all = Buffer.concat(records.map(encodeRecord));
    const read = decodeRecords(all);
    expect(read.validBytes).toBe(all.length);
    expect(read.records.map((r) => [r.kind, r.key, r.sensorId, text(r.payload)])).toEqual(records.map((r) => [r.kind, r.key, r.sensorId, text(r.payload)]));

    const torn = decodeRecords(all.subarray(0, all.length - 3));
    expect(torn.records).toHaveLength(2);
    const corrupt = Buffer.from(all);
    corrupt[encodeRecord(records[0]).length + 10] ^= 0xff;
    expect(decodeRecords(corrupt).records).toHaveLength(1);
  });

  it('encode in chunks to the same bytes, encoded ones copied, each chunk within its bound but for a record larger than it, alone', () => {
    const records = [...Array(50).keys()].map((i) => ({
      kind: i % 2 ? RecordKind.sent : RecordKind.result, key: `sensor-é/${i}`, sensorId: 'sensor-é', payload: i === 20 ? new Uint8Array(700).fill(7) : bytes(`r${i}`),
    }));
    const chunks = Array.from(recordChunks(records, 256), (chunk) => Buffer.from(chunk)); // each a view of one buffer: copied as it comes
    expect(Buffer.concat(chunks)).toEqual(Buffer.concat(records.map(encodeRecord)));
    // Records given as the bytes they were appended as (the live state's results and sent marks) are copied as they are.
    const mixed = records.map((record, i) => (i % 3 === 0 ? encodeRecord(record) : record));
    expect(Buffer.concat(Array.from(recordChunks(mixed, 256), (chunk) => Buffer.from(chunk)))).toEqual(Buffer.concat(records.map(encodeRecord)));
    expect(chunks.filter((chunk) => chunk.length > 256).map((chunk) => chunk.length)).toEqual([encodeRecord(records[20]).length]);
    expect(chunks.length).toBeLessThan(records.length / 4);
    expect(() => [...recordChunks([{ kind: RecordKind.frame, key: 'k'.repeat(70_000), sensorId: 's', payload: bytes('x') }], 1 << 20)])
      .toThrow(expect.objectContaining({ code: 'DYNASPLIT_ERR_FIELD_LIMIT' }));
  });
});

describe('RequestLog', () => {
  it('without a journal: a request id seen is a duplicate, with its result once answered', () => {
    const log = new RequestLog({ capacity: 10, maxBytes: 1 << 30 });
    expect(log.durable).toBe(false);
    expect(log.check('s/1', 's', bytes('f'))).toEqual({ duplicate: false });
    expect(log.check('s/1', 's', bytes('f'))).toEqual({ duplicate: true, result: undefined });
    log.answered('s/1', 's', bytes('r1'));
    expect(text((log.check('s/1', 's', bytes('f')) as { result?: Uint8Array }).result)).toBe('r1');
  });

  it('forgets the oldest ids beyond its capacity, but never one still running', () => {
    const log = new RequestLog({ capacity: 2, maxBytes: 1 << 30 });
    log.check('s/running', 's', bytes('f'));
    for (const id of ['a', 'b', 'c']) {
      log.check(`s/${id}`, 's', bytes('f'));
      log.answered(`s/${id}`, 's', bytes(id));
    }
    expect(log.check('s/running', 's', bytes('f')).duplicate).toBe(true);
    expect(log.check('s/a', 's', bytes('f')).duplicate).toBe(false);
  });

  it('survives a restart: frames never answered come back to run, unacknowledged results to send, answered ids stay known', () => {
    const dir = stateDir();
    const first = open(dir);
    expect(first.recovered).toEqual({ frames: [], unsent: [] });
    const log = first.log;
    log.check('s/done', 's', bytes('frame done'));
    log.answered('s/done', 's', bytes('result done'));
    log.sent('s/done');
    log.check('s/unsent', 's', bytes('frame unsent'));
    log.answered('s/unsent', 's', bytes('result unsent'));
    log.check('s/running', 's', bytes('frame running'));
    log.sync();
    // No close(): the process "crashed". A dead owner's lock is taken over; our own pid counts as alive.
    writeFileSync(join(dir, 'lock'), '999999999');

    const second = open(dir);
    expect(second.recovered.frames.map((f) => [f.key, text(f.payload)])).toEqual([['s/running', 'frame running']]);
    expect(second.recovered.unsent.map((u) => [u.key, text(u.result)])).toEqual([['s/unsent', 'result unsent']]);
    expect(text((second.log.check('s/done', 's', bytes('again')) as { result?: Uint8Array }).result)).toBe('result done');
    expect(second.log.check('s/new', 's', bytes('new')).duplicate).toBe(false);
    second.log.close();
  });

  it('ignores a torn last record (a crash mid-append) and keeps the rest', () => {
    const dir = stateDir();
    const { log } = open(dir);
    log.check('s/1', 's', bytes('one'));
    log.check('s/2', 's', bytes('two'));
    log.close();
    const [segment] = readdirSync(dir).filter((f) => f.endsWith('.log'));
    truncateSync(join(dir, segment), statSync(join(dir, segment)).size - 2);
    const again = open(dir);
    expect(again.recovered.frames.map((f) => f.key)).toEqual(['s/1']);
    again.log.close();
  });

  it('compacts its live state into a snapshot segment below a new tail, deleting the old ones', async () => {
    const dir = stateDir();
    const { log } = open(dir, 5, 2_000);
    for (let i = 0; i < 60; i++) {
      log.check(`s/${i}`, 's', new Uint8Array(100).fill(i));
      if (i !== 7) {
        log.answered(`s/${i}`, 's', bytes(`r${i}`));
        log.sent(`s/${i}`);
      }
      await log.compacted();
    }
    const segments = readdirSync(dir).filter((f) => f.endsWith('.log'));
    expect(segments.length).toBeLessThanOrEqual(2);
    expect(Number(segments[0].slice(8, 16))).toBeGreaterThan(2);
    const total = segments.reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
    expect(total).toBeLessThan(2 * 2_000 + 400);
    log.close();
    const again = open(dir, 5);
    expect(again.recovered.frames.map((f) => [f.key, f.payload[0]])).toEqual([['s/7', 7]]);
    expect(again.recovered.unsent).toEqual([]);
    expect(again.log.check('s/59', 's', bytes('x')).duplicate).toBe(true);
    again.log.close();
  });

  it('refuses a state directory another live process holds', () => {
    const dir = stateDir();
    const { log } = open(dir);
    expect(() => open(dir)).toThrow(expect.objectContaining({ code: ErrorCodes.BAD_ARGS }));
    log.close();
    open(dir).log.close();
  });
});

describe('stateIdentity', () => {
  it('keeps the first id, and a given id replaces it', () => {
    const dir = stateDir();
    expect(stateIdentity(dir, undefined, 'edge-host-1')).toBe('edge-host-1');
    expect(stateIdentity(dir, undefined, 'edge-host-2')).toBe('edge-host-1');
    expect(stateIdentity(dir, 'gateway-7', 'edge-host-3')).toBe('gateway-7');
    expect(readFileSync(join(dir, 'edge-id'), 'utf8').trim()).toBe('gateway-7');
  });
});
