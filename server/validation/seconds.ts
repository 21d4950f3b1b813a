// Parses the `s` of /sleep/:s. Only a plain decimal is accepted: digits with an optional fraction, no sign,
// exponent, hex, whitespace or trailing text. Number() alone would take `1e9`, `0x10` and ` 5 `.
import { badRequest } from '../http/errors';

const DECIMAL = /^(?:\d+(?:\.\d+)?|\.\d+)$/;
/** Long enough for any sensible value; stops a megabyte of digits from reaching the parser. */
const MAX_LENGTH = 20;

export function parseSleepSeconds(raw: string | undefined, maxSeconds: number): number {
  const rule = `s must be a decimal number of seconds from 0 to ${maxSeconds} (for example 1 or 0.25)`;
  if (raw === undefined || raw === '')
    throw badRequest(`Missing seconds: ${rule}.`, { parameter: 's', rule: 'required' });
  if (raw.length > MAX_LENGTH || !DECIMAL.test(raw)) {
    throw badRequest(`Invalid seconds "${raw.slice(0, MAX_LENGTH)}": ${rule}.`, { parameter: 's', rule: 'decimal' });
  }
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds > maxSeconds) {
    throw badRequest(`Seconds ${raw} out of range: ${rule}.`, { parameter: 's', rule: 'range' });
  }
  return seconds;
}
