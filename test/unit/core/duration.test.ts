import {
  DAY_MS,
  HOUR_MS,
  MINUTE_MS,
  formatDurationMs,
  parseDurationMs,
} from '../../../functions/core/duration';

describe('parseDurationMs', () => {
  test.each([
    ['0', 0],
    ['+0', 0],
    ['-0', 0],
    ['500ms', 500],
    ['90s', 90_000],
    ['5m', 5 * MINUTE_MS],
    ['36h', 36 * HOUR_MS],
    ['336h', 14 * DAY_MS],
    ['1h30m', 90 * MINUTE_MS],
    ['1m30s', 90_000],
    ['1.5h', 90 * MINUTE_MS],
    ['2h45m10s250ms', 2 * HOUR_MS + 45 * MINUTE_MS + 10_250],
    ['1500us', 1.5],
    ['1500µs', 1.5],
    ['2000000ns', 2],
    ['-5m', -5 * MINUTE_MS],
    ['+5m', 5 * MINUTE_MS],
    ['  10s  ', 10_000],
  ])('%p is %p ms', (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });

  test.each([
    [''],
    ['   '],
    ['-'],
    ['+'],
    ['5'],
    ['10'],
    ['h'],
    ['5d'],
    ['5 m'],
    ['5M'],
    ['1h-30m'],
    ['1h30'],
    ['abc'],
    ['5m garbage'],
    ['--5m'],
  ])('%p is not a duration', (text) => {
    expect(parseDurationMs(text)).toBeUndefined();
  });
});

describe('formatDurationMs', () => {
  test.each([
    [0, '0s'],
    [500, '500ms'],
    [1000, '1s'],
    [90_000, '1m30s'],
    [5 * MINUTE_MS, '5m'],
    [90 * MINUTE_MS, '1h30m'],
    [14 * DAY_MS, '336h'],
    [HOUR_MS + 1, '1h1ms'],
    [-5 * MINUTE_MS, '-5m'],
  ])('%p ms is %p', (ms, text) => {
    expect(formatDurationMs(ms)).toBe(text);
  });

  test.each([0, 1, 999, 1000, 61_001, 3_723_004, 14 * DAY_MS, -90_000, 0.5])(
    '%p ms survives a round trip through the parser',
    (ms) => {
      expect(parseDurationMs(formatDurationMs(ms))).toBe(ms);
    },
  );
});
