/**
 * An answer's body put together from pieces of JSON text: strings made for this answer, and
 * texts kept as bytes between reads (kernel/db/row-texts.ts). Bytes when any piece is, so a
 * kept text is copied into the answer instead of being joined into a string and encoded again.
 */
export function jsonText(parts: readonly (string | Buffer)[]): string | Buffer {
  if (!parts.some((part) => typeof part !== 'string')) return parts.join('');
  return Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part) : part)));
}

const COMMA = Buffer.from(',');

/** `items` between `head` and `tail`, separated by commas, as jsonText puts them together. */
export function jsonList(head: string, items: readonly (string | Buffer)[], tail: string): string | Buffer {
  if (!items.some((item) => typeof item !== 'string')) return `${head}${items.join(',')}${tail}`;
  // (one copy of each kept text into the answer; the commas are one shared buffer)
  const parts: Buffer[] = [Buffer.from(head)];
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    if (i > 0) parts.push(COMMA);
    parts.push(typeof item === 'string' ? Buffer.from(item) : item);
  }
  parts.push(Buffer.from(tail));
  return Buffer.concat(parts);
}
