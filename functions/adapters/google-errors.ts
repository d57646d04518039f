/**
 * One translation of Google API failures (gRPC status codes from the client libraries, HTTP statuses
 * from REST calls) into messages an operator can act on: which resource, which role or setting to
 * check, and whether retrying will help. Shared by the Cloud KMS, Secret Manager and Cloud SQL
 * adapters so the same failure reads the same everywhere.
 */

export type GoogleFailureKind =
  'permission-denied' | 'not-found' | 'quota' | 'transient' | 'unauthenticated' | 'failed';

/** What the adapter was doing when the call failed. */
export interface GoogleCall {
  /** "Cloud KMS", "Secret Manager", "Cloud SQL Admin". */
  readonly service: string;
  /** A verb phrase: "create a version of", "sign with". */
  readonly action: string;
  /** The full resource name or URL the call was about. */
  readonly resource: string;
  /** The IAM role that grants the call, named in a permission error. */
  readonly role: string;
  /** Where the resource's name comes from, named in a not-found error. */
  readonly setting: string;
}

export class GoogleApiError extends Error {
  override readonly name = 'GoogleApiError';
  constructor(
    message: string,
    readonly kind: GoogleFailureKind,
    /** A later attempt may succeed without anyone changing anything. */
    readonly transient: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** gRPC status codes (google.rpc.Code) the mapping distinguishes. */
export const GrpcCode = {
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

const HTTP_TO_GRPC: Record<number, number> = {
  401: GrpcCode.UNAUTHENTICATED,
  403: GrpcCode.PERMISSION_DENIED,
  404: GrpcCode.NOT_FOUND,
  409: GrpcCode.ALREADY_EXISTS,
  429: GrpcCode.RESOURCE_EXHAUSTED,
  500: GrpcCode.INTERNAL,
  502: GrpcCode.UNAVAILABLE,
  503: GrpcCode.UNAVAILABLE,
  504: GrpcCode.DEADLINE_EXCEEDED,
};

/** The gRPC code of a client-library error, or undefined for anything else (a bug, a bad response). */
export function grpcCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'number') return undefined;
  // When gax gives up retrying it answers DEADLINE_EXCEEDED; the code it kept getting is the news.
  const retried = /retrying error Error: (\d+) [A-Z_]+/.exec(String((error as Error).message));
  return retried ? Number(retried[1]) : code;
}

/** The gRPC code an HTTP status stands for, as Google's REST APIs map them. */
export function grpcCodeOfHttpStatus(status: number): number | undefined {
  return HTTP_TO_GRPC[status] ?? (status >= 500 ? GrpcCode.INTERNAL : undefined);
}

/** The `error` object of the JSON body Google's REST APIs answer a refusal with, if it is one. */
function restErrorBody(body: string): { code?: number; message?: string; status?: string } | undefined {
  try {
    return (JSON.parse(body) as { error?: { code?: number; message?: string; status?: string } }).error;
  } catch {
    return undefined;
  }
}

/** Google's own message in a REST refusal's body {"error": {code, message, status}}. */
export function restErrorMessage(body: string): string | undefined {
  return restErrorBody(body)?.message;
}

/** The gRPC code a REST refusal stands for: the body's status name, else the HTTP status. */
export function grpcCodeOfRestError(body: string, httpStatus: number | undefined): number | undefined {
  const parsed = restErrorBody(body);
  const named = parsed?.status ? GrpcCode[parsed.status as keyof typeof GrpcCode] : undefined;
  if (named !== undefined) return named;
  const status = httpStatus ?? parsed?.code;
  return status === undefined ? undefined : grpcCodeOfHttpStatus(status);
}

function detailsOf(error: unknown): string {
  const e = error as { details?: unknown; message?: unknown } | null;
  const details = typeof e?.details === 'string' && e.details ? e.details : String(e?.message ?? error);
  // gax prefixes messages with "<code> <NAME>: "; the code is said in our own words already.
  return details.replace(/^\d+ [A-Z_]+: /, '');
}

/**
 * The error to throw for a failed Google call. `code` is the gRPC code (grpcCode, or
 * grpcCodeOfHttpStatus for REST); anything without one is passed through unchanged, since it is not
 * an answer from Google.
 */
export function googleError(call: GoogleCall, error: unknown, code = grpcCode(error)): Error {
  if (code === undefined) return error instanceof Error ? error : new Error(String(error));
  const { service, action, resource, role, setting } = call;
  const details = detailsOf(error);
  const because = details ? ` (${service} said: ${details})` : '';
  switch (code) {
    case GrpcCode.PERMISSION_DENIED:
      return new GoogleApiError(
        `${service} refused to ${action} ${resource}: the service account lacks ${role} on ${resource}${because}`,
        'permission-denied',
        false,
        { cause: error },
      );
    case GrpcCode.NOT_FOUND:
      return new GoogleApiError(
        `${resource} does not exist: check ${setting}${because}`,
        'not-found',
        false,
        {
          cause: error,
        },
      );
    case GrpcCode.RESOURCE_EXHAUSTED:
      return new GoogleApiError(
        `${service} quota exhausted while trying to ${action} ${resource}: the next attempt retries; if it ` +
          `keeps happening, raise the ${service} quota of the project or lower the rate of calls${because}`,
        'quota',
        true,
        { cause: error },
      );
    case GrpcCode.UNAVAILABLE:
    case GrpcCode.DEADLINE_EXCEEDED:
    case GrpcCode.ABORTED:
    case GrpcCode.INTERNAL:
      return new GoogleApiError(
        `${service} could not ${action} ${resource} right now (a transient failure; the next attempt retries)${because}`,
        'transient',
        true,
        { cause: error },
      );
    case GrpcCode.UNAUTHENTICATED:
      return new GoogleApiError(
        `${service} did not accept our credentials to ${action} ${resource}: check the function's service ` +
          `account (Application Default Credentials)${because}`,
        'unauthenticated',
        false,
        { cause: error },
      );
    default:
      return new GoogleApiError(`${service} failed to ${action} ${resource}${because}`, 'failed', false, {
        cause: error,
      });
  }
}

/** The part of gax's CallOptions the gRPC adapters pass on (production leaves them unset). */
export interface GaxCallOptions {
  readonly timeout?: number;
  readonly maxRetries?: number;
}

/** Runs one Google call, translating its failure. */
export async function callGoogle<T>(call: GoogleCall, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw googleError(call, error);
  }
}
