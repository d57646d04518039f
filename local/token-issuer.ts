/**
 * A loopback stand-in for Google's token issuer: it publishes its keys (JWKS) on 127.0.0.1 and mints
 * OIDC ID tokens like the ones Cloud Scheduler sends (RS256, iss/aud/email/email_verified). The
 * functions verify them with exactly the code that verifies Google's tokens in production.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { KeyLike } from 'jose';

export interface MintOptions {
  readonly audience: string;
  readonly email: string;
  /** Lifetime in seconds; negative mints a token that has already expired. */
  readonly ttlSeconds?: number;
  readonly issuer?: string;
  readonly now?: Date;
  readonly emailVerified?: boolean;
}

export interface TokenIssuer {
  readonly issuer: string;
  readonly jwksUrl: string;
  mint(options: MintOptions): Promise<string>;
  /** A token signed by a key the issuer does not publish: a forgery. */
  forge(options: MintOptions): Promise<string>;
  close(): Promise<void>;
}

export async function startTokenIssuer(): Promise<TokenIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const forger = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'local-1', alg: 'RS256', use: 'sig' };
  const body = JSON.stringify({ keys: [jwk] });

  const server: Server = createServer((req, res) => {
    if (req.url === '/jwks' || req.url === '/oauth2/v3/certs') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=3600' });
      res.end(body);
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const issuer = `http://127.0.0.1:${port}`;

  const sign = async (key: KeyLike, kid: string, options: MintOptions) => {
    const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
    const ttl = options.ttlSeconds ?? 3600;
    return new SignJWT({ email: options.email, email_verified: options.emailVerified ?? true })
      .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
      .setIssuer(options.issuer ?? issuer)
      .setAudience(options.audience)
      .setSubject(options.email)
      .setIssuedAt(ttl < 0 ? now + ttl - 60 : now)
      .setExpirationTime(now + ttl)
      .sign(key);
  };

  return {
    issuer,
    jwksUrl: `${issuer}/jwks`,
    mint: (options) => sign(privateKey, 'local-1', options),
    forge: (options) => sign(forger.privateKey, 'local-1', options),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
