/**
 * A stand-in for Cloud Run's IAM front, put in front of every local function so that `npm start`
 * and the tests take the production request path.
 *
 * Mirrors what Google documents for a service that requires authentication (checked 2026-12-06):
 * - https://cloud.google.com/run/docs/authenticating/service-to-service: the caller sends a
 *   Google-signed ID token whose audience is the service's URL; the caller's identity must hold
 *   roles/run.invoker (run.routes.invoke) on the service.
 * - https://cloud.google.com/run/docs/troubleshooting#signature-removed: once verified, the token
 *   is forwarded to the container with its signature replaced by SIGNATURE_REMOVED_BY_GOOGLE.
 * - https://cloud.google.com/run/docs/troubleshooting (401 and 403 sections): a token that is
 *   expired, badly signed or minted for another audience is answered 401; a request with no
 *   credentials, or from an identity without run.invoker, is answered 403 ("Your client does not
 *   have permission to get URL ... from this server"). Either way the container never sees it.
 *
 * The function server itself never listens: the edge hands it each admitted request in process,
 * so nothing reaches a function except through the edge, as on Cloud Run.
 */
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { JWTVerifyGetKey } from 'jose';
import { SIGNATURE_REMOVED } from '../functions/core/auth';
import type { Clock } from '../functions/core/clock';
import { systemClock } from '../functions/core/clock';

export interface CloudRunEdgeOptions {
  /** The issuer whose tokens Cloud Run accepts (Google's; locally the loopback issuer). */
  readonly issuer: string;
  readonly jwksUrl: string;
  /** The service's URL: the audience a token must carry. */
  readonly audience: string;
  /** The IAM policy's run.invoker members on this service, as emails. */
  readonly invokers: () => Iterable<string>;
  readonly clock?: Clock;
}

/** What the edge decided about one request; the function only ever sees `admitted`. */
export type EdgeVerdict =
  | { readonly kind: 'admitted'; readonly forwardedAuthorization: string; readonly email: string }
  | { readonly kind: 'refused'; readonly status: 401 | 403; readonly reason: string };

const BEARER = /^Bearer\s+(\S+)$/i;

/** The jose key sets are cached per JWKS URL: every function of the fleet shares one issuer. */
const keySets = new Map<string, JWTVerifyGetKey>();

function keySet(jwksUrl: string): JWTVerifyGetKey {
  let keys = keySets.get(jwksUrl);
  if (!keys) {
    keys = createRemoteJWKSet(new URL(jwksUrl), { cooldownDuration: 30_000, timeoutDuration: 5_000 });
    keySets.set(jwksUrl, keys);
  }
  return keys;
}

export async function judgeAtEdge(
  authorization: string | undefined,
  options: CloudRunEdgeOptions,
): Promise<EdgeVerdict> {
  const match = BEARER.exec(authorization?.trim() ?? '');
  if (!match) return { kind: 'refused', status: 403, reason: 'no credentials' };
  const token = match[1];
  let email: string;
  try {
    const { payload } = await jwtVerify(token, keySet(options.jwksUrl), {
      issuer: options.issuer,
      audience: options.audience,
      algorithms: ['RS256'],
      currentDate: (options.clock ?? systemClock).now(),
    });
    email = typeof payload.email === 'string' ? payload.email.toLowerCase() : '';
  } catch (error) {
    return { kind: 'refused', status: 401, reason: `invalid token: ${(error as Error).message}` };
  }
  const members = new Set([...options.invokers()].map((member) => member.toLowerCase()));
  if (!email || !members.has(email)) {
    return { kind: 'refused', status: 403, reason: `${email || 'caller'} lacks run.invoker` };
  }
  const [header, payload] = token.split('.');
  return {
    kind: 'admitted',
    forwardedAuthorization: `Bearer ${header}.${payload}.${SIGNATURE_REMOVED}`,
    email,
  };
}

/** Cloud Run's refusal pages are HTML from Google's front end, not the container's JSON. */
function refuse(res: ServerResponse, req: IncomingMessage, status: 401 | 403): void {
  const title = status === 401 ? '401 Unauthorized' : '403 Forbidden';
  const text =
    status === 401
      ? 'Your client does not have permission to the requested URL'
      : `Your client does not have permission to get URL <code>${escapeHtml(req.url ?? '/')}</code> from this server.`;
  const headers: Record<string, string> = { 'content-type': 'text/html; charset=UTF-8' };
  if (status === 401) headers['www-authenticate'] = 'Bearer error="invalid_token"';
  res.writeHead(status, headers);
  res.end(
    `<html><head><title>${title}</title></head><body><h1>Error: ${title.slice(4)}</h1>\n<h2>${text}</h2></body></html>\n`,
  );
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The request listener of a function's public address: judge, then hand the admitted request,
 * with the signature removed, to the function's own server.
 */
export function cloudRunEdge(functionServer: Server, options: CloudRunEdgeOptions): RequestListener {
  return (req, res) => {
    judgeAtEdge(req.headers.authorization, options).then(
      (verdict) => {
        if (verdict.kind === 'refused') return refuse(res, req, verdict.status);
        req.headers.authorization = verdict.forwardedAuthorization;
        functionServer.emit('request', req, res);
      },
      (error: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`edge failure: ${(error as Error).message}\n`);
      },
    );
  };
}
