/**
 * The stats API client: response validation (every bad field named), and the HTTP rules against a
 * loopback server: content type, size limit while reading, per-request timeout, retries with a
 * constant backoff, and the job's signal stopping everything.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseStatsResponse, pullStats } from '../../../functions/jobs/stats-puller-worker/client';

const DAY = {
  day: '2026-11-20T00:00:00Z',
  publish_requests: { unknown: 1, android: 20, ios: 30 },
  total_teks_published: 400,
  requests_with_revisions: 2,
  tek_age_distribution: [1, 2, 3],
  onset_to_upload_distribution: [4, 5],
  requests_missing_onset_date: 6,
};

describe('parseStatsResponse', () => {
  it('maps the JSON fields and skips null days', () => {
    expect(parseStatsResponse({ days: [null, DAY], padding: 'xx' })).toEqual([
      {
        day: new Date('2026-11-20T00:00:00Z'),
        publishRequests: { unknown: 1, ios: 30, android: 20 },
        totalTeksPublished: 400,
        requestsWithRevisions: 2,
        tekAgeDistribution: [1, 2, 3],
        onsetToUploadDistribution: [4, 5],
        requestsMissingOnsetDate: 6,
      },
    ]);
  });

  it('reads absent counts as 0, as the Go struct does, and no days as none', () => {
    expect(parseStatsResponse({ days: [{ day: '2026-11-20T00:00:00Z' }] })[0]).toMatchObject({
      publishRequests: { unknown: 0, ios: 0, android: 0 },
      totalTeksPublished: 0,
      tekAgeDistribution: [],
    });
    expect(parseStatsResponse({ padding: '' })).toEqual([]);
  });

  it('keeps the later of two entries for one day', () => {
    const later = { ...DAY, total_teks_published: 999 };
    const days = parseStatsResponse({ days: [DAY, later] });
    expect(days).toHaveLength(1);
    expect(days[0].totalTeksPublished).toBe(999);
  });

  it.each([
    [[], 'the response is not a JSON object'],
    [
      { error: 'realm not found', code: 'not_found' },
      'the key server answered error (not_found): realm not found',
    ],
    [{ days: 'yesterday' }, 'days is not an array'],
    [{ days: [42] }, 'days[0] is not an object'],
    [{ days: [{ ...DAY, day: 'yesterday' }] }, 'days[0].day "yesterday" is not an RFC 3339 time'],
    [{ days: [{ ...DAY, day: 20 }] }, 'days[0].day is not a string'],
    [
      { days: [{ ...DAY, day: '2026-11-20T05:00:00Z' }] },
      'days[0].day "2026-11-20T05:00:00Z" is not a UTC midnight',
    ],
    [{ days: [DAY, { ...DAY, publish_requests: 'many' }] }, 'days[1].publish_requests is not an object'],
    [
      { days: [{ ...DAY, publish_requests: { ios: -1 } }] },
      'days[0].publish_requests.ios is -1, not a non-negative integer',
    ],
    [
      { days: [{ ...DAY, total_teks_published: '400' }] },
      'days[0].total_teks_published is "400", not a non-negative integer',
    ],
    [{ days: [{ ...DAY, tek_age_distribution: { a: 1 } }] }, 'days[0].tek_age_distribution is not an array'],
    [
      { days: [{ ...DAY, onset_to_upload_distribution: [1, 2.5] }] },
      'days[0].onset_to_upload_distribution[1] is 2.5, not a non-negative integer',
    ],
  ])('refuses %j: %s', (document, message) => {
    expect(() => parseStatsResponse(document)).toThrow(message);
  });
});

type Handler = (request: IncomingMessage, response: ServerResponse, count: number) => void;

describe('pullStats over HTTP', () => {
  let server: Server;
  let baseUrl: string;
  let handler: Handler;
  let requests: { path: string; auth?: string; body: string }[];

  beforeAll(async () => {
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        requests.push({
          path: request.url ?? '',
          auth: request.headers.authorization,
          body: Buffer.concat(chunks).toString(),
        });
        handler(request, response, requests.length);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  beforeEach(() => {
    requests = [];
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const json = (response: ServerResponse, status: number, body: unknown) => {
    response.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
    response.end(typeof body === 'string' ? body : JSON.stringify(body));
  };

  const pull = (overrides: Partial<Parameters<typeof pullStats>[0]> = {}) =>
    pullStats({
      baseUrl,
      token: 'the-token',
      timeoutMs: 2000,
      sizeLimitBytes: 64_000,
      signal: new AbortController().signal,
      backoffMs: 10,
      ...overrides,
    });

  it('posts {"padding":""} to /v1/stats with the bearer token', async () => {
    handler = (_request, response) => json(response, 200, { days: [DAY] });
    const days = await pull();
    expect(days).toHaveLength(1);
    expect(requests).toEqual([{ path: '/v1/stats', auth: 'Bearer the-token', body: '{"padding":""}' }]);
  });

  it('retries every failure, three times, then reports the last error', async () => {
    handler = (_request, response) => json(response, 500, { error: 'boom' });
    const retries: number[] = [];
    await expect(pull({ onRetry: (attempt) => retries.push(attempt) })).rejects.toThrow(
      'the key server answered HTTP 500: {"error":"boom"} (after 4 attempts)',
    );
    expect(requests).toHaveLength(4);
    expect(retries).toEqual([1, 2, 3]);
  });

  it('succeeds when a retry does, after a constant backoff', async () => {
    handler = (_request, response, count) =>
      count < 3 ? json(response, 401, { error: 'unauthorized' }) : json(response, 200, { days: [DAY] });
    const started = Date.now();
    await expect(pull({ backoffMs: 100 })).resolves.toHaveLength(1);
    expect(requests).toHaveLength(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });

  it('refuses a non-JSON content type and garbage JSON', async () => {
    handler = (_request, response) => {
      response.writeHead(200, { 'Content-Type': 'text/html' });
      response.end('<html>');
    };
    await expect(pull({ retries: 0 })).rejects.toThrow('the response is text/html, not application/json');
    handler = (_request, response) => json(response, 200, 'not json {');
    await expect(pull({ retries: 0 })).rejects.toThrow('the response is not JSON: "not json {"');
  });

  it('names the bad field of a wrong-shaped answer', async () => {
    handler = (_request, response) =>
      json(response, 200, { days: [{ day: '2026-11-20T00:00:00Z', total_teks_published: -3 }] });
    await expect(pull({ retries: 0 })).rejects.toThrow('days[0].total_teks_published is -3');
  });

  it('stops reading at the size limit, declared or streamed', async () => {
    handler = (_request, response) => json(response, 200, { days: [], padding: 'x'.repeat(5000) });
    await expect(pull({ retries: 0, sizeLimitBytes: 1000 })).rejects.toThrow(/over the 1000-byte limit/);
    handler = (_request, response) => {
      response.writeHead(200, { 'Content-Type': 'application/json' });
      response.write('{"padding":"');
      const timer = setInterval(() => response.write('x'.repeat(500)), 5);
      response.on('close', () => clearInterval(timer));
    };
    await expect(pull({ retries: 0, sizeLimitBytes: 2000 })).rejects.toThrow(
      'the response is over the 2000-byte limit',
    );
  });

  it('abandons a request past its timeout', async () => {
    handler = (_request, response) => {
      const timer = setTimeout(() => json(response, 200, { days: [] }), 1000);
      response.on('close', () => clearTimeout(timer));
    };
    await expect(pull({ retries: 1, timeoutMs: 100 })).rejects.toThrow(
      'the request took longer than 100 ms and was abandoned (after 2 attempts)',
    );
  });

  it("stops retrying and cuts the request in flight when the job's signal aborts", async () => {
    handler = (_request, response) => {
      const timer = setTimeout(() => json(response, 500, {}), 5000);
      response.on('close', () => clearTimeout(timer));
    };
    const controller = new AbortController();
    const pulling = pull({ signal: controller.signal, backoffMs: 10 });
    setTimeout(() => controller.abort(new Error('job timed out')), 100);
    const started = Date.now();
    await expect(pulling).rejects.toThrow(/stopped: the job was aborted/);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(requests).toHaveLength(1);
  });
});
