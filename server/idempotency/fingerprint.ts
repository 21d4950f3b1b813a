// What makes two requests "the same request" for an Idempotency-Key: the method, the path, the If-Match
// condition and the JSON body. The body counts as its canonical JSON (object keys sorted, no whitespace),
// so a retry that re-serialises the same object differently is still the same request, while any change
// of a value, or a key added or left out, is not. Headers that do not change what is written
// (Content-Type, X-Request-Id, ...) are left out; If-Match is in because it decides whether the write runs.
import { createHash } from 'node:crypto';

export interface FingerprintedRequest {
  method: string;
  /** The path as routed, e.g. /todos/3. */
  path: string;
  /** The If-Match header as sent (trimmed), or '' for none. */
  ifMatch: string;
  /** The parsed JSON body, or undefined for a request without one (DELETE). */
  body: unknown;
}

/** JSON with every object's keys in code-unit order, recursively; arrays keep their order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** sha256, hex: 64 characters, the width of test.idempotency_keys.fingerprint. */
export function requestFingerprint(request: FingerprintedRequest): string {
  // A JSON array as the envelope: no separator inside one part can be mistaken for a boundary.
  const envelope = JSON.stringify([
    'v1',
    request.method.toUpperCase(),
    request.path,
    request.ifMatch.trim(),
    request.body === undefined ? null : canonicalJson(request.body),
  ]);
  return createHash('sha256').update(envelope, 'utf8').digest('hex');
}
