// Crusoe's request signing (version 1.0) as a client does it, for the load generator and the
// bench's own requests: HMAC-SHA256 keyed with the base64url-decoded secret over
// "<path>\n<canonical query>\n<METHOD>\n<timestamp>\n", sent base64url without padding.
// Queries the bench sends are already canonical (keys sorted, nothing to escape).
import { createHmac } from 'node:crypto';

/** The Authorization and X-Crusoe-Timestamp headers of one request, signed now. */
export function crusoeHeaders(keys, method, target) {
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  const query = q < 0 ? '' : target.slice(q + 1);
  const timestamp = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const signature = createHmac('sha256', Buffer.from(keys.secret, 'base64url')).update(`${path}\n${query}\n${method.toUpperCase()}\n${timestamp}\n`).digest('base64url');
  return { authorization: `Bearer 1.0:${keys.accessKey}:${signature}`, 'x-crusoe-timestamp': timestamp };
}
