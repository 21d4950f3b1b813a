// The time on every log line, as an ISO 8601 string. new Date().toISOString() costs about half a
// microsecond, a large part of an access line; the text up to the second changes once a second, so it
// is kept and only the milliseconds are appended.

let second = -1;
let prefix = '';

/** Now as `2026-11-26T23:19:24.733Z`, the same text as new Date().toISOString(). */
export function isoNow(now: number = Date.now()): string {
  const ms = now % 1000;
  const s = now - ms;
  if (s !== second) {
    second = s;
    // '2026-11-26T23:19:24.' (20 characters), for years 0000 to 9999.
    prefix = new Date(s).toISOString().slice(0, 20);
  }
  return `${prefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z`;
}
