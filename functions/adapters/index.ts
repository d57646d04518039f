/**
 * The outside systems a job may touch, each behind a narrow interface with a Google implementation
 * and a local one. Which implementation a runtime gets is decided once, from its settings.
 */
import type { GaugeWriter } from './gauges';
import type { KeyManager } from './key-manager';
import type { SecretStore } from './secret-store';
import type { DatabaseExport } from './database-export';
import type { RateLimiter } from './rate-limiter';
import type { Mailer } from './mailer';

/**
 * Each adapter is built on first use (a job that never mails never opens an SMTP connection), and
 * tests override any subset of them (RuntimeOverrides.adapters).
 */
export interface Adapters {
  readonly keyManager: KeyManager;
  /** Where the watchdog's gauges go: Cloud Monitoring, or memory locally. */
  readonly gauges: GaugeWriter;
  readonly secretStore: SecretStore;
  readonly databaseExport: DatabaseExport;
  /** Where the modeler pushes realm quotas: the server's Redis limiter store, or nowhere (NOOP). */
  readonly rateLimiter: RateLimiter;
  /** Sends the emailers' mails (SMTP to the relay; a loopback catcher locally). */
  readonly mailer: Mailer;
}

export type { KeyManager } from './key-manager';
export type { SecretStore } from './secret-store';
export type { DatabaseExport } from './database-export';
export type { RateLimiter } from './rate-limiter';
export type { Mailer } from './mailer';

export type AdapterFactories = { [K in keyof Adapters]: () => Adapters[K] };

/** An Adapters object whose members are the chosen ones, or built from `defaults` on first use. */
export function lazyAdapters(chosen: Partial<Adapters>, defaults: AdapterFactories): Adapters {
  const built: { -readonly [K in keyof Adapters]?: Adapters[K] } = { ...chosen };
  const adapters = {} as Adapters;
  for (const key of Object.keys(defaults) as (keyof Adapters)[]) {
    Object.defineProperty(adapters, key, {
      enumerable: true,
      get: () => (built[key] ??= defaults[key]() as never),
    });
  }
  return adapters;
}

/**
 * Adapters for a job context built by hand (tests, benchmarks): the given ones, and for the rest an
 * error on first use naming the adapter the caller forgot to provide.
 */
export function onlyAdapters(chosen: Partial<Adapters>): Adapters {
  const missing = (name: string) => (): never => {
    throw new Error(`no ${name} adapter was provided to this job context`);
  };
  return lazyAdapters(chosen, {
    keyManager: missing('keyManager'),
    gauges: missing('gauges'),
    secretStore: missing('secretStore'),
    databaseExport: missing('databaseExport'),
    rateLimiter: missing('rateLimiter'),
    mailer: missing('mailer'),
  });
}
