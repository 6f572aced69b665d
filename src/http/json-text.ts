/**
 * An answer's body put together from pieces of JSON text: strings made for this answer, and
 * texts kept as bytes between reads (kernel/db/row-texts.ts). Bytes when any piece is, so a
 * kept text is copied into the answer instead of being joined into a string and encoded again.
 */
export function jsonText(parts: readonly (string | Buffer)[]): string | Buffer {
  if (!parts.some((part) => typeof part !== 'string')) return parts.join('');
  return Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part) : part)));
}

/** `items` between `head` and `tail`, separated by commas, as jsonText puts them together. */
export function jsonList(head: string, items: readonly (string | Buffer)[], tail: string): string | Buffer {
  const parts: (string | Buffer)[] = [head];
  for (let i = 0; i < items.length; i++) {
    if (i > 0) parts.push(',');
    parts.push(items[i]!);
  }
  parts.push(tail);
  return jsonText(parts);
}
