// Walking GET /todos page by page, as a client does: follow the Link rel="next" until there is none.
import { expect } from 'chai';
import { request } from '../support/http';

export interface PageRow {
  id: number;
  item: string;
  status: string;
}

/** The ids of a page body in the order the text has them (JSON.parse sorts integer-like keys anyway). */
export function idsInText(text: string): number[] {
  return [...text.matchAll(/"(\d+)":\{"item"/g)].map((match) => Number(match[1]));
}

/** The URL in a `Link: <...>; rel="next"` header, or undefined. */
export function nextLink(header: string | null): string | undefined {
  if (header === null) return undefined;
  const match = /^<([^>]+)>; rel="next"$/.exec(header);
  expect(match, `Link header ${header}`).to.not.equal(null);
  return match![1];
}

/** One page's rows, in the order of the text, and the next page's path. */
export async function readPage(base: string, path: string): Promise<{ rows: PageRow[]; next?: string }> {
  const reply = await request(`${base}${path}`);
  expect(reply.status, `GET ${path}: ${reply.text.slice(0, 200)}`).to.equal(200);
  const body = reply.body as Record<string, { item: string; status: string }>;
  const rows = idsInText(reply.text).map((id) => ({ id, ...body[String(id)]! }));
  expect(rows.length, `GET ${path}: every key read`).to.equal(Object.keys(body).length);
  return { rows, next: nextLink(reply.headers.get('link')) };
}

/**
 * Every row of GET `start` (e.g. `/todos?status=done&limit=50`), page after page; `via(n)` picks the
 * worker for the n-th page (so a walk may cross workers). Fails past `maxPages`.
 */
export async function walkPages(
  via: (page: number) => string,
  start = '/todos',
  maxPages = 10_000,
): Promise<PageRow[]> {
  const rows: PageRow[] = [];
  let path: string | undefined = start;
  for (let page = 0; path !== undefined; page += 1) {
    expect(page, `pages walked from ${start}`).to.be.below(maxPages);
    const read: { rows: PageRow[]; next?: string } = await readPage(via(page), path);
    rows.push(...read.rows);
    path = read.next;
  }
  return rows;
}
