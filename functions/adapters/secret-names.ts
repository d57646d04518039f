/**
 * Secret Manager resource names, checked before any call so a malformed name fails with the form it
 * should have instead of a remote INVALID_ARGUMENT. Shared by the Google and the local secret store.
 */

const PARENT = /^projects\/[^/]+\/secrets$/;
/** Secret Manager's own rule for secret ids. */
const SECRET_ID = /^[A-Za-z0-9_-]{1,255}$/;
const SECRET = /^projects\/[^/]+\/secrets\/[A-Za-z0-9_-]{1,255}$/;
const VERSION = /^(projects\/[^/]+\/secrets\/[A-Za-z0-9_-]{1,255})\/versions\/([1-9][0-9]*)$/;

/** Secret Manager refuses payloads over 64 KiB. */
export const MAX_SECRET_PAYLOAD_BYTES = 65_536;

/** `<parent>/<secretId>`, with SECRETS_PARENT (`projects/<project>/secrets`) and the id checked. */
export function secretName(parent: string, secretId: string): string {
  if (!PARENT.test(parent)) {
    throw new Error(
      `secrets parent "${parent}" is not of the form projects/<project>/secrets: check SECRETS_PARENT`,
    );
  }
  if (!SECRET_ID.test(secretId)) {
    throw new Error(
      `secret id "${secretId}" may only contain letters, digits, "-" and "_" (1 to 255 characters)`,
    );
  }
  return `${parent}/${secretId}`;
}

export function checkSecretName(name: string): string {
  if (!SECRET.test(name)) {
    throw new Error(`"${name}" is not a secret name: projects/<project>/secrets/<secretId>`);
  }
  return name;
}

/** Splits a version name into its secret and its number; a version alias (`latest`) is refused. */
export function parseSecretVersionName(name: string): { secret: string; version: number } {
  const match = VERSION.exec(name);
  if (!match) {
    throw new Error(
      `"${name}" is not a secret version name: projects/<project>/secrets/<secretId>/versions/<number>`,
    );
  }
  return { secret: match[1], version: Number(match[2]) };
}

export function checkSecretPayload(name: string, payload: Buffer): void {
  if (payload.length === 0) throw new Error(`refusing to add an empty version to ${name}`);
  if (payload.length > MAX_SECRET_PAYLOAD_BYTES) {
    throw new Error(
      `a version of ${name} would hold ${payload.length} bytes; Secret Manager allows at most ${MAX_SECRET_PAYLOAD_BYTES}`,
    );
  }
}
