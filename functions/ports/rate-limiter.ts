/**
 * What the modeler needs of the verification server's rate limiter: setting a realm's daily quota.
 * The Redis implementation and its settings are in adapters/redis-rate-limiter.ts and
 * adapters/rate-limiter.ts.
 */
/** What one quota write did. */
export type QuotaOutcome =
  /** The bucket was (re)configured with this limit and interval and refilled to the limit. */
  | 'set'
  /** The bucket already had this limit and interval: only its expiry was renewed. */
  | 'kept'
  /** No rate limiter is configured (NOOP): nothing was written. */
  | 'skipped';

export interface RateLimiter {
  /** Which store quotas go to; part of the modeler's result summary. */
  readonly store: 'noop' | 'redis';
  /**
   * Makes the realm's bucket allow `tokens` takes per `intervalMs`. Throws
   * RateLimiterUnavailableError when the store cannot be reached or refuses the credentials.
   */
  applyQuota(realmId: number, tokens: number, intervalMs: number): Promise<QuotaOutcome>;
  /** Closes the connection, if one was opened. Safe to call more than once. */
  close(): Promise<void>;
}

/** The store cannot be used at all (unreachable, wrong password): every other realm would fail too. */
export class RateLimiterUnavailableError extends Error {
  override readonly name = 'RateLimiterUnavailableError';
}

export const noopRateLimiter: RateLimiter = {
  store: 'noop',
  applyQuota: async () => 'skipped',
  close: async () => undefined,
};
