/**
 * corpus_context.tokens: a context's token ids as little-endian int32 bytes, as feature_example.acts holds float32s.
 * PostgreSQL takes a bytea of a COPY at about half the cost of an int4[] received element by element (issue 13).
 * Ids may be negative: an imported run's own pieces (−1−k, server/exchange) and padding (−1) of some exports.
 * Free of the `@/` alias: drizzle/schema.ts decodes the column through it, and drizzle-kit loads the schema bare.
 */

/** A context's token ids as the column stores them. */
export function tokensToBytes(ids: ArrayLike<number>): Buffer {
  const bytes = Buffer.allocUnsafe(ids.length * 4);
  for (let i = 0; i < ids.length; i++) bytes.writeInt32LE(ids[i]!, i * 4);
  return bytes;
}

/** The token ids a stored context's bytes hold. */
export function bytesToTokens(bytes: Uint8Array): number[] {
  if (bytes.byteLength % 4 !== 0) throw new Error(`a context's tokens are ${bytes.byteLength} bytes, not whole int32s`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ids = new Array<number>(bytes.byteLength / 4);
  for (let i = 0; i < ids.length; i++) ids[i] = view.getInt32(i * 4, true);
  return ids;
}

/** The token ids of a context's bytes given as base64 (SQL's encode(tokens, 'base64'), for rows built as JSON). */
export const base64Tokens = (data: string): number[] => bytesToTokens(Buffer.from(data, 'base64'));
