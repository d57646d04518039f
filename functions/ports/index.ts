/**
 * The outside systems a job may touch, each behind a narrow interface (a port). The core and the
 * jobs see only these; the implementations are in adapters/ (Google's) and local/ (the local
 * fleet's), and which one a runtime gets is decided by its wiring at the edge (functions/wiring.ts,
 * local/wiring.ts).
 */
import type { GaugeWriter, MetricsExport } from './gauges';
import type { KeyManager } from './key-manager';
import type { SecretStore } from './secret-store';
import type { DatabaseExport } from './database-export';
import type { RateLimiter } from './rate-limiter';
import type { Mailer } from './mailer';

/** Each adapter is built on first use: a job that never mails never opens an SMTP connection. */
export interface Adapters {
  readonly keyManager: KeyManager;
  /** Where a job's per-step gauges go: the database for the watchdog to forward, or memory locally. */
  readonly gauges: GaugeWriter;
  /** The fleet-watchdog's way out to Cloud Monitoring (memory locally); no other job declares it. */
  readonly metricsExport: MetricsExport;
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

/** How each adapter is built; a factory may return a promise-free adapter only (jobs call them synchronously). */
export type AdapterFactories = { [K in keyof Adapters]: () => Adapters[K] };

export interface LazyAdapters {
  readonly adapters: Adapters;
  /** The adapters built so far (to close them), in the order they were built. */
  built(): readonly unknown[];
}

/** An Adapters object whose members are the chosen ones, or built from `factories` on first use. */
export function lazyAdapters(chosen: Partial<Adapters>, factories: AdapterFactories): LazyAdapters {
  const made: { -readonly [K in keyof Adapters]?: Adapters[K] } = {};
  const adapters = {} as Adapters;
  for (const key of Object.keys(factories) as (keyof Adapters)[]) {
    Object.defineProperty(adapters, key, {
      enumerable: true,
      get: () => chosen[key] ?? (made[key] ??= factories[key]() as never),
    });
  }
  return { adapters, built: () => Object.values(made) };
}

/**
 * The adapters a job declared, and for any other an error on first use naming the job and where to
 * declare it (functions/jobs.ts).
 */
export function declaredAdapters(
  adapters: Adapters,
  declared: readonly (keyof Adapters)[],
  jobId: string,
): Adapters {
  const limited = {} as Adapters;
  for (const key of Object.keys(adapters) as (keyof Adapters)[]) {
    Object.defineProperty(limited, key, {
      enumerable: true,
      get: () => {
        if (declared.includes(key)) return adapters[key];
        throw new Error(
          `${jobId} uses the ${key} adapter without declaring it; add '${key}' to its defineJob in functions/jobs.ts`,
        );
      },
    });
  }
  return limited;
}
