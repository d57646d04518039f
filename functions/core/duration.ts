/**
 * Durations in the Go syntax the original server's env vars use ("336h", "5m", "1m30s", "500ms"),
 * so an operator can carry their existing settings over unchanged. Internally every duration is a
 * number of milliseconds, and names say so (`timeoutMs`).
 */
const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const PART = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;

/** Parses a Go duration into milliseconds; returns undefined when the text is not one. */
export function parseDurationMs(text: string): number | undefined {
  const source = text.trim();
  let sign = 1;
  let index = 0;
  if (source[0] === '-' || source[0] === '+') {
    sign = source[0] === '-' ? -1 : 1;
    index = 1;
  }
  // As in Go: a bare sign is not a duration, and "0" needs no unit whatever its sign.
  if (source.length === index) return undefined;
  if (source.slice(index) === '0') return 0;
  let total = 0;
  PART.lastIndex = index;
  while (PART.lastIndex < source.length) {
    const start = PART.lastIndex;
    const match = PART.exec(source);
    if (!match || match.index !== start) return undefined;
    total += Number(match[1]) * UNIT_MS[match[2]];
  }
  return (sign * Math.round(total * 1000)) / 1000;
}

/** Formats milliseconds the way the parser reads them back, in the largest exact units. */
export function formatDurationMs(ms: number): string {
  if (ms === 0) return '0s';
  const sign = ms < 0 ? '-' : '';
  let rest = Math.abs(ms);
  const parts: string[] = [];
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (rest >= size) {
      const whole = Math.floor(rest / size);
      parts.push(`${whole}${unit}`);
      rest -= whole * size;
    }
  }
  if (rest > 0) parts.push(`${rest}ms`);
  return sign + parts.join('');
}

export const SECOND_MS = 1000;
export const MINUTE_MS = 60 * SECOND_MS;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;
