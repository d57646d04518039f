/**
 * CRC32C (Castagnoli), the checksum Cloud KMS and Secret Manager use to prove a payload crossed the
 * network intact. No installed package exports it, and a table-driven version is a dozen lines.
 */
const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n += 1) {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** An Int64Value as the client libraries hand it over (number, decimal string or Long-like). */
export function int64Value(wrapper: { value?: unknown } | null | undefined): number | undefined {
  if (wrapper === null || wrapper === undefined || wrapper.value === null || wrapper.value === undefined) {
    return undefined;
  }
  return Number(String(wrapper.value));
}
