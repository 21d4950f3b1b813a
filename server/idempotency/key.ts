// The Idempotency-Key request header (IETF httpapi draft "The Idempotency-Key HTTP Header Field"; Stripe's
// API popularised it). The value is taken as sent, byte for byte, as the key: 1 to 255 printable ASCII
// characters (the draft's quoted sf-string form works too; its quotes are then part of the key). A bad
// key is a 400 and never an unkeyed write: a client that asked for exactly-once must not silently lose it.
import { badRequest } from '../http/errors';

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
/** test.idempotency_keys.idempotency_key is VARCHAR(255) in ascii. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

const RULE = `an Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters (space to ~), sent once`;
const PRINTABLE_ASCII = /^[\x20-\x7E]*$/;

function refused(rule: string, message: string) {
  return badRequest(`${message}: ${RULE}.`, { header: IDEMPOTENCY_KEY_HEADER, rule });
}

/**
 * The key of a request, or undefined when it sent none. `headersDistinct` (Node's per-field arrays)
 * tells two Idempotency-Key fields apart from one, which a joined value ("a, b") could not.
 */
export function parseIdempotencyKey(headersDistinct: Record<string, string[] | undefined>): string | undefined {
  const list = headersDistinct['idempotency-key'];
  if (list === undefined) return undefined;
  if (list.length !== 1) throw refused('single', `${list.length} Idempotency-Key fields were sent`);
  const key = list[0]!;
  if (key === '') throw refused('not_empty', 'The Idempotency-Key is empty');
  if (key.length > MAX_IDEMPOTENCY_KEY_LENGTH)
    throw refused('max_length', `The Idempotency-Key has ${key.length} characters`);
  // Node hands header bytes over as latin1, one character per byte, so a UTF-8 byte shows up here too.
  if (!PRINTABLE_ASCII.test(key))
    throw refused('printable_ascii', 'The Idempotency-Key contains a character that is not printable ASCII');
  return key;
}
