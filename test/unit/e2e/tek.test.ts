import {
  exposureKeyHmac,
  generateKeys,
  INTERVALS_PER_DAY,
  utcDayInterval,
} from '../../../functions/jobs/e2e/tek';

describe('exposure keys', () => {
  it('HMACs keys sorted by key text as key.start.period.risk joined by commas (the key server format)', () => {
    // Computed by hand (python hmac) from "AAAA…==.2899856.144.3,BBBB…A==.2900000.144.0".
    const keys = [
      {
        key: 'BBBBBBBBBBBBBBBBBBBBBA==',
        rollingStartNumber: 2900000,
        rollingPeriod: 144,
        transmissionRisk: 0,
      },
      {
        key: 'AAAAAAAAAAAAAAAAAAAAAA==',
        rollingStartNumber: 2899856,
        rollingPeriod: 144,
        transmissionRisk: 3,
      },
    ];
    const secret = Buffer.alloc(32, '0');
    expect(exposureKeyHmac(keys, secret).toString('base64')).toBe(
      '7ZSzNYmTm4hFuKhL66K1hKu5Ax0mfAjCK92GNbKxlEA=',
    );
    expect(exposureKeyHmac([...keys].reverse(), secret)).toEqual(exposureKeyHmac(keys, secret));
    expect(exposureKeyHmac(keys, Buffer.alloc(32, '1'))).not.toEqual(exposureKeyHmac(keys, secret));
  });

  it('refuses to HMAC no keys', () => {
    expect(() => exposureKeyHmac([], Buffer.alloc(32))).toThrow('cannot compute the HMAC of no keys');
  });

  it('makes 14 one-day keys going back from the current UTC day', () => {
    const now = new Date('2026-11-23T15:47:00Z');
    const today = utcDayInterval(now);
    expect(today * 600_000).toBe(Date.parse('2026-11-23T00:00:00Z'));
    const keys = generateKeys(now);
    expect(keys).toHaveLength(14);
    expect(keys.map((k) => k.rollingStartNumber)).toEqual(
      Array.from({ length: 14 }, (_, day) => today - day * INTERVALS_PER_DAY),
    );
    for (const k of keys) {
      expect(Buffer.from(k.key, 'base64')).toHaveLength(16);
      expect(k.rollingPeriod).toBe(144);
    }
    expect(new Set(keys.map((k) => k.key)).size).toBe(14);
  });
});
