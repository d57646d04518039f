/**
 * Reading an upstream's response body with a size limit: refused as soon as it passes the limit
 * (declared or actually read), never buffered whole first, so a runaway upstream cannot exhaust a
 * function's memory.
 */
export async function readBodyLimited(
  response: Response,
  limitBytes: number,
  tooLarge: (bytes: number | undefined) => Error,
): Promise<string> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limitBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge(declared);
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limitBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(undefined);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
