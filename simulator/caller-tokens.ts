/**
 * The simulated Cloud Scheduler's OIDC tokens, minted by the loopback issuer (local/token-issuer.ts)
 * at the simulation's virtual time. The stand-in for Cloud Run's IAM front (local/cloud-run-edge.ts)
 * checks them as Cloud Run checks Google's: the JWKS fetched from the issuer, the signature, the
 * audience and the expiry against the virtual clock, and the caller's run.invoker; the runtime then
 * checks the claims. The auth-broken fault is a token for another audience, which the edge refuses
 * (401) as Cloud Run refuses a scheduler job pointed at the wrong URL.
 *
 * A token is reused while it is younger than half its life in virtual time, as Cloud Scheduler's
 * are, so a week's simulation signs a few hundred tokens, not one per request.
 */
import type { TokenIssuer } from '../local/token-issuer';

const TTL_SECONDS = 3600;
const REUSE_MS = (TTL_SECONDS * 1000) / 2;

export const SIMULATED_CALLER = 'scheduler-invoker@enx-simulator.iam.gserviceaccount.com';

export class CallerTokens {
  private readonly minted = new Map<string, { readonly atMs: number; readonly token: string }>();

  constructor(
    private readonly issuer: TokenIssuer,
    /** The audience the runtime expects (OIDC_AUDIENCE). */
    private readonly audience: string,
  ) {}

  /** The Authorization header of a request sent at `nowMs`; `misdirected` is the auth-broken fault. */
  async authorization(nowMs: number, misdirected: boolean): Promise<string> {
    const audience = misdirected ? `${this.audience}/another-function` : this.audience;
    const cached = this.minted.get(audience);
    if (cached && nowMs >= cached.atMs && nowMs - cached.atMs < REUSE_MS) return `Bearer ${cached.token}`;
    const token = await this.issuer.mint({
      audience,
      email: SIMULATED_CALLER,
      ttlSeconds: TTL_SECONDS,
      now: new Date(nowMs),
    });
    this.minted.set(audience, { atMs: nowMs, token });
    return `Bearer ${token}`;
  }
}
