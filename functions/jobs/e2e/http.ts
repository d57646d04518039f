/**
 * The probes' HTTP client: every request belongs to a named step, is timed, bounded (timeout, body
 * size, the job's abort signal) and, when it fails, explains itself in one line: which step, which
 * method and URL, what came back (status and the start of the body) and what was expected. API keys
 * travel only in the X-API-Key header, which no message ever quotes; the raw keys are registered
 * as secrets as well, so even an upstream that echoes one back cannot get it into a log line.
 */
import { performance } from 'node:perf_hooks';
import { readBodyLimited } from '../../core/http-body';

/**
 * A step of a probe failed; `step` names it, the message says what happened and what was expected
 * (the run's StepsFailedError puts the step in front: "certificate: POST http://… answered …").
 */
export class ProbeStepError extends Error {
  override readonly name = 'ProbeStepError';
  constructor(
    readonly step: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ProbeRequest {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** For the redirect checks: answer the 3xx itself instead of following it. */
  readonly followRedirects?: boolean;
  /** What the step wanted, for the failure message (e.g. "HTTP 200 with a certificate"). */
  readonly expected: string;
}

export interface ProbeResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

export interface ProbeOptions {
  readonly timeoutMs: number;
  /** The job's signal: an attempt that times out cuts the request in flight. */
  readonly signal: AbortSignal;
  readonly userAgent: string;
}

/** Largest body a probe reads; the documented answers are a few hundred bytes. */
const BODY_LIMIT_BYTES = 64 * 1024;
const SNIPPET_CHARS = 200;

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat === '') return 'an empty body';
  return flat.length > SNIPPET_CHARS ? `${flat.slice(0, SNIPPET_CHARS)}…` : flat;
}

export class Probe {
  /** Milliseconds per step, in the order the steps ran; the run's result summary. */
  readonly stepsMs: Record<string, number> = {};

  constructor(private readonly options: ProbeOptions) {}

  /** Runs one named step and records its latency; an error from it is attributed to the step. */
  async step<T>(name: string, work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await work();
    } catch (error) {
      if (error instanceof ProbeStepError) throw error;
      if (this.options.signal.aborted) throw this.options.signal.reason;
      throw new ProbeStepError(name, error instanceof Error ? error.message : String(error));
    } finally {
      this.stepsMs[name] = Math.round((performance.now() - started) * 10) / 10;
    }
  }

  /** A failure of `step` for this request, in the one-line shape every probe failure has. */
  fail(step: string, request: ProbeRequest, what: string): ProbeStepError {
    return new ProbeStepError(step, `${request.method} ${request.url} ${what}; expected ${request.expected}`);
  }

  /** Sends the request; transport failures and timeouts become step failures naming the URL. */
  async send(step: string, request: ProbeRequest): Promise<ProbeResponse> {
    // One controller per request, tied to the job's signal only while the request runs: a flow
    // makes a dozen requests under one signal, and listeners must not pile up on it.
    const controller = new AbortController();
    const jobSignal = this.options.signal;
    const onAbort = () => controller.abort(jobSignal.reason);
    jobSignal.addEventListener('abort', onAbort, { once: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.options.timeoutMs);
    try {
      const response = await fetch(request.url, {
        method: request.method,
        headers: {
          'User-Agent': this.options.userAgent,
          Accept: 'application/json',
          ...(request.body === undefined ? {} : { 'Content-Type': 'application/json' }),
          ...request.headers,
        },
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
        redirect: request.followRedirects === false ? 'manual' : 'follow',
        signal: controller.signal,
      });
      const text = await readBodyLimited(
        response,
        BODY_LIMIT_BYTES,
        () => new Error(`answered a body over ${BODY_LIMIT_BYTES} bytes`),
      );
      return { status: response.status, headers: response.headers, text };
    } catch (error) {
      if (jobSignal.aborted) throw jobSignal.reason;
      if (timedOut) throw this.fail(step, request, `did not answer within ${this.options.timeoutMs} ms`);
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const reason = cause?.code ?? cause?.message ?? (error as Error).message;
      throw this.fail(step, request, `failed (${reason})`);
    } finally {
      clearTimeout(timer);
      jobSignal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * A JSON API call: HTTP 200, a JSON object, no non-empty `error` field (ENX answers errors as
   * {"error": "...", "errorCode": "..."}, the key server {"error", "code"}), then `check` returns
   * the value, or calls `wrong` with a sentence of what is wrong with the document.
   */
  async json<T>(
    step: string,
    request: ProbeRequest,
    check: (document: Record<string, unknown>, wrong: (what: string) => never) => T,
  ): Promise<T> {
    const response = await this.send(step, request);
    let document: unknown;
    try {
      document = JSON.parse(response.text);
    } catch {
      const status = response.status === 200 ? 'HTTP 200' : `HTTP ${response.status}`;
      throw this.fail(
        step,
        request,
        `answered ${status} with a body that is not JSON: ${snippet(response.text)}`,
      );
    }
    const record =
      typeof document === 'object' && document !== null && !Array.isArray(document)
        ? (document as Record<string, unknown>)
        : undefined;
    const error = record && typeof record.error === 'string' ? record.error : '';
    if (response.status !== 200 || error !== '') {
      const errorCode = record?.errorCode ?? record?.code;
      const code = typeof errorCode === 'string' && errorCode !== '' ? ` (${errorCode})` : '';
      const said = error !== '' ? `error${code} "${error}"` : snippet(response.text);
      throw this.fail(step, request, `answered HTTP ${response.status} with ${said}`);
    }
    if (!record) throw this.fail(step, request, `answered ${snippet(response.text)}, not a JSON object`);
    return check(record, (what) => {
      throw this.fail(step, request, `answered HTTP 200 but ${what}: ${snippet(response.text)}`);
    });
  }
}
