import { createHarness, ledgerAttempts } from '../support/harness';
import type { Harness } from '../support/harness';

describe('cleanup-worker over HTTP (smoke)', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await createHarness();
  });
  afterAll(async () => harness.close());

  it('runs a scheduled tick and records it', async () => {
    const res = await harness.invoke('cleanup-worker', { scheduleTime: '2026-11-23T20:05:00Z' });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('succeeded');
    const attempts = await ledgerAttempts(harness.db, 'cleanup-worker');
    expect(attempts.map((a) => a.state)).toEqual(['succeeded']);
  });
});
