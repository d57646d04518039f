import { Faults, parseFaultRequest } from '../../../local/upstreams/faults';

describe('stand-in faults', () => {
  it('applies a fault to every request until cleared, or to the next `times` requests', () => {
    const faults = new Faults();
    faults.set('/v1/publish', { mode: '500' });
    faults.set('/api/issue', { mode: 'slow', delayMs: 10, times: 2 });
    expect(faults.take('/v1/publish')).toEqual({ mode: '500' });
    expect(faults.take('/v1/publish')).toEqual({ mode: '500' });
    expect(faults.take('/api/issue')?.mode).toBe('slow');
    expect(faults.take('/api/issue')?.mode).toBe('slow');
    expect(faults.take('/api/issue')).toBeUndefined();
    faults.set('/v1/publish', undefined);
    expect(faults.take('/v1/publish')).toBeUndefined();
  });

  it('reads the operator control body, "step" as an alias of "path", "none" to clear', () => {
    expect(parseFaultRequest({ step: '/api/verify', mode: 'expired-token', times: 1 })).toEqual({
      path: '/api/verify',
      fault: { mode: 'expired-token', times: 1 },
    });
    expect(parseFaultRequest({ path: '/api/verify', mode: 'none' })).toEqual({
      path: '/api/verify',
      fault: undefined,
    });
    expect(() => parseFaultRequest({ path: '/api/verify', mode: 'explode' })).toThrow(
      '"mode" must be one of slow, 500, malformed-json, wrong-signature, expired-token, or "none" to clear',
    );
    expect(() => new Faults().set('/api/verify', { mode: '500', times: 0 })).toThrow(
      'times must be a whole number',
    );
  });
});
