/**
 * The part of the Logging query language the loopback Logging API understands. Source: "Logging
 * query language" (cloud.google.com/logging/docs/view/logging-query-language, checked 2026-12).
 *
 * Supported: comparisons joined by AND (a line break or a space is an implicit AND), with the
 * operators = != < <= > >= and : (has; `:*` = the field exists), on resource.type,
 * resource.labels.K, labels.K, severity (ordered by LogSeverity), timestamp (RFC 3339, compared as
 * instants), logName, insertId, trace, spanId and jsonPayload.PATH; values quoted or bare, or a
 * group `("a" OR "b")` meaning any of them.
 *
 * Everything else (OR between comparisons, NOT and `-`, parentheses around comparisons, regular
 * expressions =~ !~, functions such as sample(), free-text search, other fields) is refused with a
 * FilterError, which the service answers as INVALID_ARGUMENT, as the real API answers a filter it
 * cannot parse. A refused valid query is a limit of this stand-in; an accepted invalid one would be
 * a bug.
 */
import { LOG_SEVERITIES } from '../../functions/alerts/log-filters';
import type { StoredEntry } from './log-entries';

export class FilterError extends Error {
  override readonly name = 'FilterError';
}

type Operator = '=' | '!=' | '<' | '<=' | '>' | '>=' | ':';

interface Comparison {
  readonly field: readonly string[];
  readonly operator: Operator;
  /** Any of these values matches (one value unless a `("a" OR "b")` group). */
  readonly values: readonly string[];
}

export type EntryPredicate = (entry: StoredEntry) => boolean;

/** The real API's limit on a filter's length (ListLogEntriesRequest.filter). */
export const MAX_FILTER_CHARS = 20_000;

type Token =
  | { readonly kind: 'string' | 'word'; readonly text: string }
  | { readonly kind: 'op'; readonly text: string }
  | { readonly kind: 'open' | 'close' };

const OPERATORS = ['>=', '<=', '!=', '=~', '!~', '=', '<', '>', ':'];

function tokenize(filter: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < filter.length) {
    const char = filter[i];
    if (/\s/.test(char)) {
      i += 1;
    } else if (char === '"') {
      let text = '';
      i += 1;
      while (i < filter.length && filter[i] !== '"') {
        if (filter[i] === '\\' && i + 1 < filter.length) i += 1;
        text += filter[i];
        i += 1;
      }
      if (i >= filter.length) throw new FilterError('unterminated string in filter');
      i += 1;
      tokens.push({ kind: 'string', text });
    } else if (char === '(' || char === ')') {
      tokens.push({ kind: char === '(' ? 'open' : 'close' });
      i += 1;
    } else {
      const op = OPERATORS.find((candidate) => filter.startsWith(candidate, i));
      if (op) {
        tokens.push({ kind: 'op', text: op });
        i += op.length;
        continue;
      }
      const word = /^[^\s()"=<>!:~]+/.exec(filter.slice(i));
      if (!word) throw new FilterError(`unexpected character "${char}" at column ${i + 1}`);
      tokens.push({ kind: 'word', text: word[0] });
      i += word[0].length;
    }
  }
  return tokens;
}

const KNOWN_ROOTS = new Set(['logName', 'insertId', 'trace', 'spanId', 'severity', 'timestamp']);

function checkField(path: readonly string[], raw: string): void {
  const [root, second] = path;
  const ok =
    (path.length === 1 && KNOWN_ROOTS.has(root)) ||
    (root === 'resource' && path.length === 2 && second === 'type') ||
    (root === 'resource' && path.length === 3 && second === 'labels') ||
    (root === 'labels' && path.length === 2) ||
    (root === 'jsonPayload' && path.length >= 2);
  if (!ok) throw new FilterError(`field "${raw}" is not supported by this stand-in`);
}

function parseValues(tokens: Token[], at: number): { values: string[]; next: number } {
  const token = tokens[at];
  if (token?.kind === 'string' || token?.kind === 'word') return { values: [token.text], next: at + 1 };
  if (token?.kind !== 'open') throw new FilterError('a comparison needs a value');
  const values: string[] = [];
  let i = at + 1;
  for (;;) {
    const value = tokens[i];
    if (value?.kind !== 'string' && value?.kind !== 'word')
      throw new FilterError('a value group needs values');
    values.push(value.text);
    i += 1;
    const after = tokens[i];
    if (after?.kind === 'close') return { values, next: i + 1 };
    if (after?.kind !== 'word' || after.text !== 'OR')
      throw new FilterError('values in a group are joined by OR');
    i += 1;
  }
}

/** The comparisons of `filter`, all of which must hold; throws FilterError for what is not supported. */
export function parseFilter(filter: string): Comparison[] {
  if (filter.length > MAX_FILTER_CHARS) {
    throw new FilterError(`filter is ${filter.length} characters; the limit is ${MAX_FILTER_CHARS}`);
  }
  const tokens = tokenize(filter);
  const comparisons: Comparison[] = [];
  let i = 0;
  while (i < tokens.length) {
    const token = tokens[i];
    if (token.kind === 'word' && token.text === 'AND' && comparisons.length > 0) {
      i += 1;
      continue;
    }
    if (token.kind === 'word' && ['OR', 'NOT'].includes(token.text)) {
      throw new FilterError(`${token.text} between comparisons is not supported by this stand-in`);
    }
    if (token.kind !== 'word') throw new FilterError('expected a field name');
    if (token.text.startsWith('-')) throw new FilterError('negation (-) is not supported by this stand-in');
    const op = tokens[i + 1];
    if (op?.kind !== 'op')
      throw new FilterError(`free-text search ("${token.text}") is not supported by this stand-in`);
    if (op.text === '=~' || op.text === '!~') {
      throw new FilterError('regular expressions are not supported by this stand-in');
    }
    const field = token.text.split('.');
    checkField(field, token.text);
    const { values, next } = parseValues(tokens, i + 2);
    if (values.length > 1 && op.text !== '=' && op.text !== ':') {
      throw new FilterError(`a value group works with = and : only, not ${op.text}`);
    }
    comparisons.push({ field, operator: op.text as Operator, values });
    i = next;
  }
  return comparisons;
}

function fieldValue(entry: StoredEntry, path: readonly string[]): unknown {
  const [root, second, ...rest] = path;
  if (root === 'resource') return second === 'type' ? entry.resource.type : entry.resource.labels[rest[0]];
  if (root === 'labels') return entry.labels[second];
  if (root === 'jsonPayload') {
    let node: unknown = entry.jsonPayload;
    for (const key of path.slice(1)) {
      node = node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
    }
    return node;
  }
  return (entry as unknown as Record<string, unknown>)[root];
}

const severityRank = (name: string) => {
  const rank = (LOG_SEVERITIES as readonly string[]).indexOf(name.toUpperCase());
  if (rank < 0) throw new FilterError(`"${name}" is not a severity (${LOG_SEVERITIES.join(', ')})`);
  return rank;
};

/** Orders two values as the field's type does: severities by rank, timestamps as instants, numbers as numbers. */
function order(path: readonly string[], actual: unknown, wanted: string): number {
  if (path[0] === 'severity') return severityRank(String(actual)) - severityRank(wanted);
  if (path[0] === 'timestamp') {
    const at = Date.parse(wanted);
    if (Number.isNaN(at)) throw new FilterError(`"${wanted}" is not an RFC 3339 timestamp`);
    return (actual as Date).getTime() - at;
  }
  if (typeof actual === 'number' && wanted.trim() !== '' && !Number.isNaN(Number(wanted))) {
    return actual - Number(wanted);
  }
  const text = typeof actual === 'string' ? actual : JSON.stringify(actual);
  return text < wanted ? -1 : text > wanted ? 1 : 0;
}

function holds(comparison: Comparison, entry: StoredEntry): boolean {
  const actual = fieldValue(entry, comparison.field);
  if (comparison.operator === ':' && comparison.values[0] === '*') return actual !== undefined;
  if (actual === undefined || actual === null) return comparison.operator === '!=';
  return comparison.values.some((wanted) => {
    if (comparison.operator === ':') {
      const text = typeof actual === 'string' ? actual : JSON.stringify(actual);
      return text.toLowerCase().includes(wanted.toLowerCase());
    }
    const difference = order(comparison.field, actual, wanted);
    switch (comparison.operator) {
      case '=':
        return difference === 0;
      case '!=':
        return difference !== 0;
      case '<':
        return difference < 0;
      case '<=':
        return difference <= 0;
      case '>':
        return difference > 0;
      default:
        return difference >= 0;
    }
  });
}

/** A predicate for `filter`; values are checked up front, so a bad severity or time fails here. */
export function compileFilter(filter: string): EntryPredicate {
  const comparisons = parseFilter(filter);
  for (const comparison of comparisons) {
    for (const value of comparison.values) {
      if (comparison.field[0] === 'severity') severityRank(value);
      if (comparison.field[0] === 'timestamp' && Number.isNaN(Date.parse(value))) {
        throw new FilterError(`"${value}" is not an RFC 3339 timestamp`);
      }
    }
  }
  return (entry) => comparisons.every((comparison) => holds(comparison, entry));
}
