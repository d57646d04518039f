/**
 * What the stand-ins can be told to do wrong, per endpoint path: answer slowly, answer HTTP 500,
 * answer JSON that does not parse, sign a certificate with the wrong key, or hand out a token or
 * certificate that has already expired. Tests set faults directly; an operator of the local fleet
 * POSTs them to /__faults on any stand-in (docs/simulator.md, "Telling a stand-in to fail").
 */
export const FAULT_MODES = ['slow', '500', 'malformed-json', 'wrong-signature', 'expired-token'] as const;
export type FaultMode = (typeof FAULT_MODES)[number];

export interface Fault {
  readonly mode: FaultMode;
  /** For slow: how long to wait before answering normally. Default 30 s. */
  readonly delayMs?: number;
  /** Only the next `times` requests misbehave; unset means until cleared. */
  readonly times?: number;
}

/** Endpoints and the faults that make sense for them (a 500 makes sense anywhere). */
export const FAULT_PATHS: Readonly<Record<string, readonly FaultMode[]>> = {
  '/api/issue': ['slow', '500', 'malformed-json'],
  '/api/checkcodestatus': ['slow', '500', 'malformed-json'],
  '/api/verify': ['slow', '500', 'malformed-json', 'expired-token'],
  '/api/certificate': ['slow', '500', 'malformed-json', 'wrong-signature', 'expired-token'],
  '/v1/publish': ['slow', '500', 'malformed-json'],
  '/.well-known/assetlinks.json': ['slow', '500', 'malformed-json'],
  '/.well-known/apple-app-site-association': ['slow', '500', 'malformed-json'],
  '/': ['slow', '500'],
};

export const DEFAULT_SLOW_MS = 30_000;

export class Faults {
  private readonly byPath = new Map<string, { fault: Fault; left: number }>();

  /** Sets (or with undefined clears) the fault of one path; throws naming what is allowed. */
  set(path: string, fault: Fault | undefined): void {
    const allowed = FAULT_PATHS[path];
    if (!allowed) {
      throw new Error(
        `"${path}" is not a stand-in endpoint; use one of ${Object.keys(FAULT_PATHS).join(', ')}`,
      );
    }
    if (fault === undefined) {
      this.byPath.delete(path);
      return;
    }
    if (!allowed.includes(fault.mode)) {
      throw new Error(`mode "${fault.mode}" does not apply to ${path}; use one of ${allowed.join(', ')}`);
    }
    if (fault.times !== undefined && (!Number.isInteger(fault.times) || fault.times < 1)) {
      throw new Error('times must be a whole number of at least 1');
    }
    if (fault.delayMs !== undefined && (!Number.isFinite(fault.delayMs) || fault.delayMs < 0)) {
      throw new Error('delayMs must be a non-negative number of milliseconds');
    }
    this.byPath.set(path, { fault, left: fault.times ?? Infinity });
  }

  clear(): void {
    this.byPath.clear();
  }

  /** The fault this request of `path` gets, counting it against `times`. */
  take(path: string): Fault | undefined {
    const entry = this.byPath.get(path);
    if (!entry) return undefined;
    entry.left -= 1;
    if (entry.left <= 0) this.byPath.delete(path);
    return entry.fault;
  }

  list(): Record<string, Fault> {
    return Object.fromEntries([...this.byPath].map(([path, entry]) => [path, entry.fault]));
  }
}

/** Reads a control request body: {"path": "/api/certificate", "mode": "500", "times"?: n, "delayMs"?: n}. */
export function parseFaultRequest(body: unknown): { path: string; fault: Fault | undefined } {
  if (typeof body !== 'object' || body === null) {
    throw new Error('send a JSON object such as {"path": "/api/certificate", "mode": "500"}');
  }
  const record = body as Record<string, unknown>;
  const path = record.path ?? record.step;
  if (typeof path !== 'string')
    throw new Error('"path" (the endpoint to break, e.g. "/v1/publish") is required');
  if (record.mode === undefined || record.mode === null || record.mode === 'none')
    return { path, fault: undefined };
  if (typeof record.mode !== 'string' || !(FAULT_MODES as readonly string[]).includes(record.mode)) {
    throw new Error(`"mode" must be one of ${FAULT_MODES.join(', ')}, or "none" to clear`);
  }
  return {
    path,
    fault: {
      mode: record.mode as FaultMode,
      ...(record.times !== undefined ? { times: Number(record.times) } : {}),
      ...(record.delayMs !== undefined ? { delayMs: Number(record.delayMs) } : {}),
    },
  };
}
