// Parses the If-Match request header of PATCH and DELETE /todos/:id (RFC 9110 section 13.1.1):
// `*`, or a comma-separated list of entity tags. If-Match compares strongly, so a weak tag (W/"...")
// is well-formed but never matches. A malformed header is a 400, not a silently ignored condition:
// a client that meant to write conditionally must not get an unconditional write.
import { badRequest } from '../http/errors';

export type IfMatch = { any: true } | { any: false; tags: string[] };

// entity-tag = [ W/ ] DQUOTE *etagc DQUOTE; etagc = %x21 / %x23-7E / obs-text. A comma is an etagc,
// so the list is tokenised tag by tag rather than split on commas. Node gives header bytes as latin1.
const LIST_ELEMENT = /[ \t]*(?:(W\/)?("[\x21\x23-\x7E\x80-\xFF]*"))?[ \t]*(?:,|$)/y;

function malformed(raw: string) {
  const shown = raw.length > 80 ? `${raw.slice(0, 80)}…` : raw;
  return badRequest(
    `Invalid If-Match ${JSON.stringify(shown)}: give * or entity tags as sent in ETag, e.g. If-Match: "abc".`,
    { header: 'If-Match', rule: 'entity_tags' },
  );
}

/** Undefined when the header is absent or empty. */
export function parseIfMatch(raw: string | undefined): IfMatch | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  if (raw.trim() === '*') return { any: true };
  const tags: string[] = [];
  let sawTag = false;
  LIST_ELEMENT.lastIndex = 0;
  while (LIST_ELEMENT.lastIndex < raw.length) {
    const start = LIST_ELEMENT.lastIndex;
    const match = LIST_ELEMENT.exec(raw);
    if (!match || LIST_ELEMENT.lastIndex === start) throw malformed(raw);
    if (match[2] !== undefined) {
      sawTag = true;
      if (match[1] === undefined) tags.push(match[2]);
    }
  }
  if (!sawTag) throw malformed(raw);
  return { any: false, tags };
}

/** Strong comparison of the condition against the current representation's ETag. */
export function ifMatchAccepts(condition: IfMatch, currentEtag: string): boolean {
  return condition.any || condition.tags.includes(currentEtag);
}
