/**
 * The runtime the fleet deploys on must be one Google still lets us deploy. This test reads today's
 * date on purpose: when Google's schedule (infra/runtime-support.ts) says the runtime has entered
 * deprecation, CI goes red months before the decommission date refuses a deploy.
 */
import {
  FUNCTION_RUNTIME,
  NODE_RUNTIMES,
  RUNTIME_SUPPORT_SOURCE,
  bundleTarget,
  runtimeStatus,
} from '../../infra/runtime-support';

describe('Cloud Run functions runtime', () => {
  it(`deploys on ${FUNCTION_RUNTIME}, which Google supports today (neither deprecated nor decommissioned)`, () => {
    expect(runtimeStatus(FUNCTION_RUNTIME, new Date())).toBe('supported');
  });

  it('judges the schedule by calendar day', () => {
    expect(runtimeStatus('nodejs20', new Date('2026-04-29T23:59:59Z'))).toBe('supported');
    expect(runtimeStatus('nodejs20', new Date('2026-04-30T00:00:00Z'))).toBe('deprecated');
    expect(runtimeStatus('nodejs20', new Date('2026-10-30T00:00:00Z'))).toBe('decommissioned');
    expect(runtimeStatus('nodejs24', new Date('2028-10-31T00:00:00Z'))).toBe('decommissioned');
    expect(runtimeStatus('nodejs26', new Date())).toBe('preview');
    expect(runtimeStatus('nodejs99', new Date())).toBe('unknown');
  });

  it('keeps every GA runtime with both dates, in order, and names its source', () => {
    for (const runtime of NODE_RUNTIMES.filter((entry) => entry.stage === 'ga')) {
      expect(runtime.deprecation! < runtime.decommission!).toBe(true);
    }
    expect(RUNTIME_SUPPORT_SOURCE.url).toMatch(/^https:\/\/cloud\.google\.com\//);
  });

  it('builds the bundle for the deployed Node.js, not the build machine’s', () => {
    expect(bundleTarget()).toBe('node24');
  });
});
