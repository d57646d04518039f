/**
 * Reading raw settings: flattening the settings file and the ENX_INFRA_* variables to dotted keys,
 * and reading each key in the type its setting wants, collecting one sentence per problem that
 * names the key and its variable.
 */
import path from 'node:path';
import { NON_TABLE_ENV, SETTINGS } from './settings-table';
import type { SecretSource } from './settings';

export type Flat = Map<string, unknown>;
export type Env = Readonly<Record<string, string | undefined>>;

const BY_KEY = new Map(SETTINGS.map((spec) => [spec.key, spec]));
const BY_ENV = new Map(SETTINGS.map((spec) => [spec.env, spec]));

export function label(key: string): string {
  const spec = BY_KEY.get(key);
  return spec ? `${key} (${spec.env})` : key;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Flattens one layer of the file to dotted keys, reporting keys that are not settings. */
export function flattenFile(
  object: Record<string, unknown>,
  where: string,
  problems: string[],
  prefix = '',
): Flat {
  const flat: Flat = new Map();
  for (const [name, value] of Object.entries(object)) {
    const key = prefix + name;
    if (BY_KEY.has(key)) {
      flat.set(key, value);
    } else if (isPlainObject(value) && SETTINGS.some((spec) => spec.key.startsWith(`${key}.`))) {
      for (const [k, v] of flattenFile(value, where, problems, `${key}.`)) flat.set(k, v);
    } else {
      const known = SETTINGS.map((spec) => spec.key).join(', ');
      problems.push(`${where}: "${key}" is not a setting; the settings are ${known}`);
    }
  }
  return flat;
}

export function flattenEnv(env: Env, problems: string[]): Flat {
  const flat: Flat = new Map();
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('ENX_INFRA_') || value === undefined || NON_TABLE_ENV.has(name)) continue;
    const spec = BY_ENV.get(name);
    if (!spec) {
      problems.push(
        `${name} is not a setting; the variables are ${[...BY_ENV.keys(), ...NON_TABLE_ENV].join(', ')}`,
      );
      continue;
    }
    flat.set(spec.key, value);
  }
  return flat;
}

/** Reads a setting in the kind its table entry declares, from a file value or a variable's text. */
export class Reader {
  constructor(
    private readonly flat: Flat,
    private readonly problems: string[],
    private readonly prefix: string,
  ) {}

  private fail(key: string, message: string): undefined {
    this.problems.push(`${this.prefix}${label(key)}: ${message}`);
    return undefined;
  }

  has(key: string): boolean {
    return this.flat.has(key) && this.flat.get(key) !== '';
  }

  string(key: string): string | undefined {
    if (!this.has(key)) return undefined;
    const value = this.flat.get(key);
    if (typeof value !== 'string') return this.fail(key, `must be a string, not ${JSON.stringify(value)}`);
    return value.trim();
  }

  integer(key: string, min: number, max: number): number | undefined {
    if (!this.has(key)) return undefined;
    const raw = this.flat.get(key);
    const value = typeof raw === 'string' && /^\s*-?\d+\s*$/.test(raw) ? Number(raw) : raw;
    if (typeof value !== 'number' || !Number.isInteger(value))
      return this.fail(key, `${JSON.stringify(raw)} is not a whole number`);
    if (value < min || value > max) return this.fail(key, `${value} is not between ${min} and ${max}`);
    return value;
  }

  boolean(key: string): boolean | undefined {
    if (!this.has(key)) return undefined;
    const raw = this.flat.get(key);
    if (typeof raw === 'boolean') return raw;
    if (typeof raw === 'string' && ['true', 'false'].includes(raw.trim().toLowerCase()))
      return raw.trim().toLowerCase() === 'true';
    return this.fail(key, `${JSON.stringify(raw)} is not true or false`);
  }

  list(key: string): string[] | undefined {
    if (!this.has(key)) return undefined;
    const raw = this.flat.get(key);
    if (typeof raw === 'string')
      return raw
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '');
    if (Array.isArray(raw) && raw.every((item) => typeof item === 'string'))
      return raw.map((item: string) => item.trim());
    return this.fail(key, `must be a list of strings (comma-separated in the variable)`);
  }

  record(key: string): Record<string, unknown> | undefined {
    if (!this.has(key)) return undefined;
    let raw = this.flat.get(key);
    if (typeof raw === 'string') {
      try {
        raw = JSON.parse(raw) as unknown;
      } catch {
        return this.fail(key, 'is not valid JSON');
      }
    }
    if (!isPlainObject(raw)) return this.fail(key, 'must be a JSON object');
    return raw;
  }

  oneOf<const T extends string>(key: string, values: readonly T[]): T | undefined {
    const value = this.string(key);
    if (value === undefined) return undefined;
    if (!(values as readonly string[]).includes(value))
      return this.fail(key, `"${value}" is not one of ${values.join(', ')}`);
    return value as T;
  }

  matching(key: string, pattern: RegExp, what: string): string | undefined {
    const value = this.string(key);
    if (value === undefined) return undefined;
    if (!pattern.test(value)) return this.fail(key, `"${value}" is not ${what}`);
    return value;
  }

  secretSource(key: string): SecretSource | undefined {
    const value = this.string(key);
    if (value === undefined) return undefined;
    const secret = /^secret:([A-Za-z0-9_-]{1,255})$/.exec(value);
    if (secret) return { kind: 'secret-manager', secretId: secret[1] };
    const variable = /^var:([a-z_][a-z0-9_]{0,63})$/.exec(value);
    if (variable) return { kind: 'variable', name: variable[1] };
    return this.fail(
      key,
      'must name where the secret lives: secret:<Secret Manager secret id> (read when Terraform plans) or var:<terraform variable> (passed as TF_VAR_<name>); never the secret itself',
    );
  }

  /** A path inside the repository (or the stack folder): relative, so nothing absolute is synthesized. */
  relativePath(key: string): string | undefined {
    const value = this.string(key);
    if (value === undefined) return undefined;
    if (path.isAbsolute(value) || /^[A-Za-z]:[\\/]/.test(value))
      return this.fail(key, `"${value}" is absolute; write it relative, so no machine path is synthesized`);
    return value.split(path.sep).join('/');
  }
}
