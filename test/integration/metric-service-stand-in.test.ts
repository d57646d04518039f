/**
 * The Cloud Monitoring stand-in refuses what projects.timeSeries.create refuses
 * (https://cloud.google.com/monitoring/api/ref_v3/rest/v3/projects.timeSeries/create, read
 * 2026-12-06), and answers as Google's REST APIs do: the HTTP status of the google.rpc.Code and a
 * JSON body {"error": {code, message, status}}. Raw requests show what the client library would
 * never send; the functions' own writer shows what a refusal looks like to them.
 */
import { createMonitoringWriter } from '../../functions/adapters/monitoring-writer';
import { startFakeMetricService } from '../../local/fake-google/metric-service';
import type { FakeMetricService } from '../../local/fake-google/metric-service';

const series = (endTime: string, labels: Record<string, string> = {}) => ({
  metric: { type: 'custom.googleapis.com/enx_jobs/heartbeat', labels },
  resource: { type: 'global', labels: { project_id: 'p' } },
  points: [{ interval: { endTime }, value: { int64Value: '1' } }],
});

const NOW = '2026-12-06T10:30:00Z';

describe('the Cloud Monitoring stand-in', () => {
  let fake: FakeMetricService;
  beforeAll(async () => {
    // The service's own clock: the points below must stay within its 25-hour window on any day.
    fake = await startFakeMetricService({ now: () => Date.parse(NOW) });
  });
  afterAll(async () => fake.close());
  beforeEach(() => fake.reset());

  async function post(path: string, body: unknown, method = 'POST') {
    const res = await fetch(`http://127.0.0.1:${fake.port}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return {
      status: res.status,
      body: (await res.json()) as { error?: { status: string; message: string } },
    };
  }

  it('writes a valid request and answers an empty object', async () => {
    const res = await post('/v3/projects/p/timeSeries', { timeSeries: [series('2026-12-06T10:00:00Z')] });
    expect(res).toEqual({ status: 200, body: {} });
    expect(fake.requests).toHaveLength(1);
  });

  test.each([
    ['a path the API does not route', '/v3/folders/p/timeSeries', 'POST', 404, 'NOT_FOUND'],
    ['the wrong verb', '/v3/projects/p/timeSeries', 'PUT', 404, 'NOT_FOUND'],
  ])('refuses %s', async (_name, path, method, status, code) => {
    const res = await post(path, { timeSeries: [series('2026-12-06T10:00:00Z')] }, method);
    expect(res.status).toBe(status);
    expect(res.body.error?.status).toBe(code);
    expect(fake.requests).toEqual([]);
  });

  test.each([
    [
      'an unknown field',
      { timeSeries: [{ ...series('2026-12-06T10:00:00Z'), bogus: 1 }] },
      /Unknown name "bogus" at 'timeSeries\[0\]'/,
    ],
    ['no time series', { timeSeries: [] }, /At least one TimeSeries/],
    [
      'more than 200 time series',
      { timeSeries: Array.from({ length: 201 }, (_, i) => series('2026-12-06T10:00:00Z', { n: String(i) })) },
      /at most 200 TimeSeries/,
    ],
    [
      'two points in one series',
      {
        timeSeries: [
          {
            ...series('2026-12-06T10:00:00Z'),
            points: [...series('2026-12-06T10:00:00Z').points, ...series('2026-12-06T10:01:00Z').points],
          },
        ],
      },
      /exactly one point/,
    ],
  ])('refuses %s with 400 INVALID_ARGUMENT', async (_name, body, message) => {
    const res = await post('/v3/projects/p/timeSeries', body);
    expect(res.status).toBe(400);
    expect(res.body.error?.status).toBe('INVALID_ARGUMENT');
    expect(res.body.error?.message).toMatch(message);
  });

  test.each([
    ['ended more than 25 hours ago', '2026-12-05T09:00:00Z'],
    ['ends more than 5 minutes ahead', '2026-12-06T10:40:00Z'],
  ])('refuses a point that %s', async (_name, endTime) => {
    const res = await post('/v3/projects/p/timeSeries', { timeSeries: [series(endTime)] });
    expect(res.status).toBe(400);
    expect(res.body.error?.message).toMatch(/no more than 25 hours in the past and no more than 5 minutes/);
  });

  it('keeps only the newest requests when told how many, for a fleet that runs for days', async () => {
    const kept = await startFakeMetricService({ now: () => Date.parse(NOW), keep: 2 });
    try {
      for (const minute of ['00', '01', '02']) {
        const res = await fetch(`http://127.0.0.1:${kept.port}/v3/projects/p/timeSeries`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ timeSeries: [series(`2026-12-06T10:${minute}:00Z`)] }),
        });
        expect(res.status).toBe(200);
      }
      expect(kept.requests).toHaveLength(2);
      expect(JSON.stringify(kept.requests[1])).toContain(String(Date.parse('2026-12-06T10:02:00Z') / 1000));
    } finally {
      await kept.close();
    }
  });

  it('refuses a point older than the series’ last one, and still writes the other series', async () => {
    await post('/v3/projects/p/timeSeries', { timeSeries: [series('2026-12-06T10:05:00Z')] });
    const res = await post('/v3/projects/p/timeSeries', {
      timeSeries: [series('2026-12-06T10:00:00Z'), series('2026-12-06T10:00:00Z', { other: 'yes' })],
    });
    expect(res.status).toBe(400);
    expect(res.body.error?.message).toMatch(/timeSeries\[0\]: Points must be written in order/);
    const again = await post('/v3/projects/p/timeSeries', {
      timeSeries: [series('2026-12-06T09:59:00Z', { other: 'yes' })],
    });
    expect(again.body.error?.message).toMatch(/Points must be written in order/);
  });

  it('reaches the functions’ writer as an error naming Cloud Monitoring’s own message', async () => {
    const writer = await createMonitoringWriter({ projectId: 'p', endpoint: `127.0.0.1:${fake.port}` });
    try {
      const many = Array.from({ length: 201 }, (_, i) => ({
        metric: { type: 'custom.googleapis.com/enx_jobs/heartbeat', labels: { n: String(i) } },
        resource: { type: 'global', labels: { project_id: 'p' } },
        points: [{ interval: { endTime: { seconds: 1_796_000_000 } }, value: { int64Value: 1 } }],
      }));
      await expect(writer.createTimeSeries({ name: 'projects/p', timeSeries: many })).rejects.toThrow(
        /Cloud Monitoring failed to write time series to projects\/p \(Cloud Monitoring said: .*at most 200 TimeSeries/,
      );
    } finally {
      await writer.close();
    }
  });
});
