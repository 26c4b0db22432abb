/** Options of the Influx store: defaults, validation and the INFLUX_* environment mapping. */
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../../common/index.ts';
import { INFLUX_DEFAULTS, parseInfluxEnv, resolveInfluxOptions } from '../../../metrics/index.ts';

const badArgs = (message: RegExp) => expect.objectContaining({ code: ErrorCodes.BAD_ARGS, message: expect.stringMatching(message) });

describe('influx store options', () => {
  it('maps the v2 variables and leaves the rest to the defaults', () => {
    const env = { INFLUX_URL: 'http://db:8086', INFLUX_TOKEN: 't', INFLUX_ORG: 'o', INFLUX_BUCKET: 'b' };
    expect(parseInfluxEnv(env)).toEqual({ url: 'http://db:8086', api: 'v2', token: 't', org: 'o', bucket: 'b' });
    expect(resolveInfluxOptions(parseInfluxEnv(env))).toMatchObject({ ...INFLUX_DEFAULTS, batchSize: 500, flushIntervalMs: 1_000, maxBufferedPoints: 50_000, queryDatabase: 'b' });
  });

  it('maps the v1 variables with credentials', () => {
    const env = { INFLUX_URL: 'http://db:8086', INFLUX_API: 'v1', INFLUX_DB: 'metrics', INFLUX_USERNAME: 'u', INFLUX_PASSWORD: 'p', INFLUX_TOKEN: '' };
    expect(parseInfluxEnv(env)).toEqual({ url: 'http://db:8086', api: 'v1', database: 'metrics', username: 'u', password: 'p' });
  });

  it('names what is missing or wrong with BAD_ARGS', () => {
    expect(() => parseInfluxEnv({})).toThrow(badArgs(/INFLUX_URL/));
    expect(() => parseInfluxEnv({ INFLUX_URL: 'http://db', INFLUX_TOKEN: 't', INFLUX_ORG: 'o' })).toThrow(badArgs(/INFLUX_BUCKET/));
    expect(() => parseInfluxEnv({ INFLUX_URL: 'http://db', INFLUX_API: 'v1' })).toThrow(badArgs(/INFLUX_DB/));
    expect(() => parseInfluxEnv({ INFLUX_URL: 'http://db', INFLUX_API: 'v3' })).toThrow(badArgs(/INFLUX_API/));
    expect(() => parseInfluxEnv({ INFLUX_URL: 'not a url', INFLUX_API: 'v1', INFLUX_DB: 'x' })).toThrow(badArgs(/not a URL/));
    expect(() => resolveInfluxOptions({ url: 'http://db', api: 'v1', database: 'x', batchSize: 0 })).toThrow(badArgs(/batchSize/));
    expect(() => resolveInfluxOptions({ url: 'http://db', api: 'v1', database: 'x', batchSize: 10, maxBufferedPoints: 5 })).toThrow(badArgs(/maxBufferedPoints/));
  });
});
