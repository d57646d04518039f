/**
 * Configuration is parsed once, at the edge, into a typed readonly object. Each setting is declared
 * once, with its env var, its default and its documentation; the README's config table, the infra
 * (which env vars a function gets, which are secrets) and the parser all read the same declaration.
 * A bad configuration is reported whole: every wrong or missing variable, each with how to fix it.
 */
import { ConfigError } from './errors';
import { formatDurationMs, parseDurationMs } from './duration';

export type Env = Readonly<Record<string, string | undefined>>;

export interface Field<T> {
  /** The environment variable read. */
  readonly env: string;
  /** One sentence for the README and infra descriptions. */
  readonly doc: string;
  /** The default as an operator would write it; undefined means the variable is required. */
  readonly defaultText?: string;
  /** Secret values come from Secret Manager in production and are never logged. */
  readonly secret: boolean;
  /** Turns the raw value (already defaulted) into T, or throws a message naming what is wrong. */
  readonly parse: (raw: string) => T;
}

type Options = { secret?: boolean };

function field<T>(
  env: string,
  defaultText: string | undefined,
  doc: string,
  parse: (raw: string) => T,
  options: Options = {},
): Field<T> {
  return { env, doc, defaultText, secret: options.secret ?? false, parse };
}

/** A setting with its own parser; `parse` throws a message naming what is wrong. */
export function custom<T>(
  env: string,
  defaultText: string | undefined,
  doc: string,
  parse: (raw: string) => T,
  options: Options = {},
): Field<T> {
  return field(env, defaultText, doc, parse, options);
}

export function durationMs(
  env: string,
  defaultText: string | undefined,
  doc: string,
  bounds: { minMs?: number; maxMs?: number } = {},
): Field<number> {
  return field(env, defaultText, doc, (raw) => {
    const ms = parseDurationMs(raw);
    if (ms === undefined) throw new Error(`"${raw}" is not a duration; write it like 90s, 5m, 36h or 1h30m`);
    if (bounds.minMs !== undefined && ms < bounds.minMs) {
      throw new Error(`${raw} is below the minimum of ${formatDurationMs(bounds.minMs)}`);
    }
    if (bounds.maxMs !== undefined && ms > bounds.maxMs) {
      throw new Error(`${raw} is above the maximum of ${formatDurationMs(bounds.maxMs)}`);
    }
    return ms;
  });
}

export function integer(
  env: string,
  defaultText: string | undefined,
  doc: string,
  bounds: { min?: number; max?: number } = {},
): Field<number> {
  return field(env, defaultText, doc, (raw) => {
    if (!/^-?\d+$/.test(raw.trim())) throw new Error(`"${raw}" is not a whole number`);
    const value = Number(raw);
    if (bounds.min !== undefined && value < bounds.min)
      throw new Error(`${value} is below the minimum ${bounds.min}`);
    if (bounds.max !== undefined && value > bounds.max)
      throw new Error(`${value} is above the maximum ${bounds.max}`);
    return value;
  });
}

export function decimal(
  env: string,
  defaultText: string | undefined,
  doc: string,
  bounds: { min?: number } = {},
): Field<number> {
  return field(env, defaultText, doc, (raw) => {
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value)) throw new Error(`"${raw}" is not a number`);
    if (bounds.min !== undefined && value < bounds.min)
      throw new Error(`${value} is below the minimum ${bounds.min}`);
    return value;
  });
}

export function text(
  env: string,
  defaultText: string | undefined,
  doc: string,
  options: Options = {},
): Field<string> {
  return field(env, defaultText, doc, (raw) => raw, options);
}

export function oneOf<const T extends string>(
  env: string,
  defaultText: T,
  doc: string,
  values: readonly T[],
): Field<T> {
  return field(env, defaultText, doc, (raw) => {
    const value = raw.trim() as T;
    if (!values.includes(value)) throw new Error(`"${raw}" is not one of ${values.join(', ')}`);
    return value;
  });
}

export function flag(env: string, defaultText: 'true' | 'false', doc: string): Field<boolean> {
  return field(env, defaultText, doc, (raw) => {
    const value = raw.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(value)) return true;
    if (['0', 'false', 'no', 'off', ''].includes(value)) return false;
    throw new Error(`"${raw}" is not a boolean; write true or false`);
  });
}

/**
 * Bytes written as base64, standard or URL-safe alphabet, padding optional (the original's envconfig
 * accepts both). Node's own decoder skips characters it does not know, which would silently derive
 * other keys, so the text is checked first. Empty text is no bytes.
 */
export function parseBase64(raw: string): Buffer {
  const value = raw.trim();
  if (value === '') return Buffer.alloc(0);
  const body = value.replace(/=+$/, '');
  if (!/^[A-Za-z0-9+/_-]+$/.test(body) || body.length % 4 === 1 || value.length - body.length > 2) {
    throw new Error(
      'is not base64; write the same value the verification server has (generate one with `openssl rand -base64 64`)',
    );
  }
  return Buffer.from(body.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

/** An absolute http(s) URL, or an error naming what is wrong, with an example of the right shape. */
export function parseHttpUrl(raw: string, example = 'https://host/path'): URL {
  let parsed: URL;
  try {
    parsed = new URL(raw.trim());
  } catch {
    throw new Error(`"${raw}" is not an absolute URL (for example ${example})`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new Error(`"${raw}" is not an http(s) URL`);
  }
  return parsed;
}

export function url(
  env: string,
  defaultText: string | undefined,
  doc: string,
  options: Options = {},
): Field<string> {
  return field(
    env,
    defaultText,
    doc,
    (raw) => {
      try {
        return new URL(raw).toString();
      } catch {
        throw new Error(`"${raw}" is not an absolute URL (for example https://host/path)`);
      }
    },
    options,
  );
}

export function list(env: string, defaultText: string, doc: string): Field<readonly string[]> {
  return field(env, defaultText, doc, (raw) =>
    raw
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== ''),
  );
}

export type FieldMap = Record<string, Field<unknown>>;
export type ConfigOf<F extends FieldMap> = {
  readonly [K in keyof F]: F[K] extends Field<infer T> ? T : never;
};

export interface ConfigSchema<C> {
  readonly scope: string;
  readonly fields: readonly Field<unknown>[];
  /** Parses and validates; throws one ConfigError listing every problem. */
  parse(env: Env): C;
}

/**
 * Declares a configuration. `check` sees the parsed values and returns cross-field problems
 * (for example "VERIFICATION_CODE_STATUS_MAX_AGE must be at least VERIFICATION_CODE_MAX_AGE").
 */
export function defineConfig<F extends FieldMap>(
  scope: string,
  fields: F,
  check: (config: ConfigOf<F>) => string[] = () => [],
): ConfigSchema<ConfigOf<F>> {
  return {
    scope,
    fields: Object.values(fields),
    parse(env: Env): ConfigOf<F> {
      const problems: string[] = [];
      const values: Record<string, unknown> = {};
      for (const [key, spec] of Object.entries(fields)) {
        const raw = env[spec.env] ?? spec.defaultText;
        if (raw === undefined) {
          problems.push(`${spec.env} is required: ${spec.doc}`);
          continue;
        }
        if (spec.secret && raw.startsWith(UNSET_SECRET_PREFIX)) {
          problems.push(unsetSecretProblem(spec.env, raw));
          continue;
        }
        try {
          values[key] = spec.parse(raw);
        } catch (error) {
          problems.push(`${spec.env}: ${(error as Error).message}`);
        }
      }
      if (problems.length === 0) problems.push(...check(values as ConfigOf<F>));
      if (problems.length > 0) throw new ConfigError(scope, problems);
      return Object.freeze(values) as ConfigOf<F>;
    },
  };
}

/**
 * What infra writes as the first version of a secret whose value it cannot make up (an SMTP or
 * database password), so that the first deploy succeeds: Cloud Run refuses to start a revision
 * whose secret has no version. The runtime refuses the placeholder, naming the secret to fill.
 */
export const UNSET_SECRET_PREFIX = 'enx-jobs:unset:';

export function unsetSecretValue(secretId: string): string {
  return `${UNSET_SECRET_PREFIX}${secretId}`;
}

function unsetSecretProblem(env: string, raw: string): string {
  const secretId = raw.slice(UNSET_SECRET_PREFIX.length);
  return `${env} has no value yet: its secret ${secretId} holds only the placeholder written at the first deploy; add the value with "gcloud secrets versions add ${secretId} --data-file=-" and the next request picks it up`;
}

/** A schema with no settings, for jobs that need none. */
export const noConfig: ConfigSchema<Readonly<Record<string, never>>> = defineConfig('none', {});
