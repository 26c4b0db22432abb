/**
 * Where batches of line protocol go: the official client's v2 write API, or POST /write?db= for
 * InfluxDB 1.x (which has no v2 API before 1.8). A sink sends one batch per call and rejects when
 * the batch did not reach the server, leaving retries and buffering to the caller (influx-writer.ts).
 */
import { InfluxDB, type WriteApi } from '@influxdata/influxdb-client';
import { DynasplitError, ErrorCodes } from '../common/index.ts';
import type { ResolvedInfluxOptions } from './influx-options.ts';

export interface LineSink {
  send(lines: string[]): Promise<void>;
  close(): Promise<void>;
}

/** 4xx other than 429 (bad line, type conflict, unknown database, auth): sending again cannot help. */
export function isPermanentStatus(status: number | undefined): boolean {
  return status !== undefined && status >= 400 && status < 500 && status !== 429;
}

/** The HTTP status of a failed send: the client's HttpError.statusCode or our details.status. */
export function failureStatus(err: unknown): number | undefined {
  if (err instanceof DynasplitError && typeof err.details.status === 'number') return err.details.status;
  const status = (err as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

export function createSink(options: ResolvedInfluxOptions): LineSink {
  return options.api === 'v2' ? clientSink(options) : v1Sink(options);
}

/**
 * One batch per flush(): the client's own batching is disabled (batchSize above ours, no interval)
 * and its retries too (maxRetries 0), because with more lines than its batchSize its flush() can
 * return before the last batches reach the server. writeFailed returning the
 * rejection makes flush() reject without the client logging to the console.
 */
function clientSink(options: ResolvedInfluxOptions): LineSink {
  const client = new InfluxDB({ url: options.url, token: options.token, timeout: options.requestTimeoutMs });
  const api: WriteApi = client.getWriteApi(options.org!, options.bucket!, 'ns', {
    batchSize: options.batchSize + 1,
    flushInterval: 0,
    maxRetries: 0,
    maxBufferLines: options.batchSize,
    writeFailed: (error) => Promise.reject(error),
  });
  return {
    send: async (lines) => {
      api.writeRecords(lines);
      await api.flush();
    },
    close: async () => {
      api.dispose();
    },
  };
}

function v1Sink(options: ResolvedInfluxOptions): LineSink {
  const url = new URL('/write', options.url);
  url.searchParams.set('db', options.database!);
  url.searchParams.set('precision', 'ns');
  if (options.username) url.searchParams.set('u', options.username);
  if (options.password) url.searchParams.set('p', options.password);
  const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
  if (options.token) headers.authorization = `Token ${options.token}`;
  return {
    send: async (lines) => {
      const response = await fetch(url, { method: 'POST', headers, body: lines.join('\n'), signal: AbortSignal.timeout(options.requestTimeoutMs) });
      const text = await response.text();
      // InfluxDB 1.x answers 204 on success (HTTP API, /write).
      if (response.status !== 204) {
        throw new DynasplitError(ErrorCodes.TRANSPORT, `InfluxDB write failed: ${response.status} ${text.slice(0, 200)}`, {
          retryable: !isPermanentStatus(response.status),
          details: { status: response.status },
        });
      }
    },
    close: async () => {},
  };
}
