/**
 * The gaps between consecutive ticks of a unix-cron schedule in a time zone, over one whole
 * reference year (so month lengths and both DST transitions are in it). Alert windows are derived
 * from the longest gap and retry budgets from the shortest, never typed by hand.
 *
 * A minute-by-minute scan with a tiny matcher (about 525,600 cheap checks a year) is much faster
 * than asking a cron library for the next run 100,000 times. Local time follows the zone's UTC
 * offset, found hourly and pinned to the minute at each change, so a skipped hour (spring forward)
 * has no ticks and a repeated hour (fall back) has them twice, as a wall-clock scheduler sees it.
 */
const MINUTE_MS = 60_000;

interface CronFields {
  minutes: boolean[];
  hours: boolean[];
  days: boolean[];
  months: boolean[];
  weekdays: boolean[];
  /** Standard cron: when both day fields are restricted, a day matches if either matches. */
  dayOr: boolean;
}

const NAMES: Record<number, string[]> = {
  3: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'],
  4: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'],
};
const RANGES: [number, number][] = [
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 7],
];

function parseField(text: string, index: number): boolean[] {
  const [low, high] = RANGES[index];
  const allowed = new Array<boolean>(high + 1).fill(false);
  const value = (token: string) => {
    const named = NAMES[index]?.indexOf(token.toUpperCase());
    const number = named !== undefined && named >= 0 ? named + (index === 3 ? 1 : 0) : Number(token);
    if (!Number.isInteger(number) || number < low || number > high) {
      throw new Error(`cron field ${index + 1} has an invalid value "${token}"`);
    }
    return number;
  };
  for (const part of text.split(',')) {
    const [range, stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1)
      throw new Error(`cron field ${index + 1} has an invalid step "${part}"`);
    let from: number;
    let to: number;
    if (range === '*') [from, to] = [low, high];
    else if (range.includes('-')) [from, to] = range.split('-').map(value) as [number, number];
    else [from, to] = [value(range), stepText === undefined ? value(range) : high];
    if (from > to) throw new Error(`cron field ${index + 1} has a backwards range "${part}"`);
    for (let v = from; v <= to; v += step) allowed[v] = true;
  }
  return allowed;
}

export function parseCron(expression: string): CronFields {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 5) throw new Error(`"${expression}" is not a 5-field unix-cron expression`);
  const [minutes, hours, days, months, weekdays] = parts.map(parseField);
  if (weekdays[7]) weekdays[0] = true;
  return { minutes, hours, days, months, weekdays, dayOr: parts[2] !== '*' && parts[4] !== '*' };
}

/** UTC offset (ms) of a zone at an instant. */
function offsetAt(zone: Intl.DateTimeFormat, instant: number): number {
  const parts = zone.formatToParts(new Date(instant));
  const get = (type: string) => Number(parts.find((part) => part.type === type)?.value);
  const local = Date.UTC(
    get('year'),
    get('month') - 1,
    get('day'),
    get('hour') % 24,
    get('minute'),
    get('second'),
  );
  return local - Math.floor(instant / 1000) * 1000;
}

/** Offsets over [from, to): a list of [instant where it starts, offset]. */
function offsets(timeZone: string, from: number, to: number): [number, number][] {
  if (/^(Etc\/)?(UTC|GMT|UCT|Zulu|Universal)$/i.test(timeZone)) return [[from, 0]];
  const zone = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });
  const result: [number, number][] = [[from, offsetAt(zone, from)]];
  for (let hour = from + 3_600_000; hour <= to; hour += 3_600_000) {
    const offset = offsetAt(zone, hour);
    if (offset === result[result.length - 1][1]) continue;
    let low = hour - 3_600_000;
    let high = hour;
    while (high - low > MINUTE_MS) {
      const mid = low + Math.floor((high - low) / 2 / MINUTE_MS) * MINUTE_MS;
      if (offsetAt(zone, mid) === offset) high = mid;
      else low = mid;
    }
    result.push([high, offset]);
  }
  return result;
}

export interface TickGaps {
  readonly minGapMs: number;
  readonly maxGapMs: number;
  readonly ticksPerYear: number;
}

/** A fixed reference year, so derived windows are the same on every machine and every day. */
const REFERENCE_START = Date.UTC(2026, 0, 1);
const REFERENCE_END = Date.UTC(2027, 0, 8);

const cache = new Map<string, TickGaps>();

export function tickGaps(cron: string, timeZone: string): TickGaps {
  const key = `${cron}|${timeZone}`;
  const cached = cache.get(key);
  if (cached) return cached;
  let previous: number | undefined;
  let minGapMs = Infinity;
  let maxGapMs = 0;
  let ticks = 0;
  for (const instant of tickInstants(cron, timeZone, REFERENCE_START, REFERENCE_END)) {
    if (previous !== undefined) {
      minGapMs = Math.min(minGapMs, instant - previous);
      maxGapMs = Math.max(maxGapMs, instant - previous);
    }
    previous = instant;
    ticks += 1;
  }
  if (ticks < 2)
    throw new Error(`"${cron}" (${timeZone}) fires fewer than twice a year; it cannot be watched`);
  const gaps = { minGapMs, maxGapMs, ticksPerYear: ticks };
  cache.set(key, gaps);
  return gaps;
}

/**
 * Every tick of a schedule in [fromMs, toMs), in order, with exactly the semantics tickGaps
 * measures (minute scan in the zone's local time: a skipped hour has no ticks, a repeated hour has
 * them twice). The time-travel simulator replays schedules with it, so what it replays is what the
 * alert windows were derived from.
 */
export function* tickInstants(
  cron: string,
  timeZone: string,
  fromMs: number,
  toMs: number,
): Generator<number> {
  const fields = parseCron(cron);
  const first = Math.ceil(fromMs / MINUTE_MS) * MINUTE_MS;
  if (first >= toMs) return;
  const changes = offsets(timeZone, first, toMs);
  let change = 0;
  for (let instant = first; instant < toMs; instant += MINUTE_MS) {
    while (change + 1 < changes.length && changes[change + 1][0] <= instant) change += 1;
    const local = new Date(instant + changes[change][1]);
    if (!fields.minutes[local.getUTCMinutes()] || !fields.hours[local.getUTCHours()]) continue;
    if (!fields.months[local.getUTCMonth() + 1]) continue;
    const dayMatch = fields.days[local.getUTCDate()];
    const weekdayMatch = fields.weekdays[local.getUTCDay()];
    if (fields.dayOr ? !(dayMatch || weekdayMatch) : !(dayMatch && weekdayMatch)) continue;
    yield instant;
  }
}
