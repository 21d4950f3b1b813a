// The query of GET /todos: which page (`limit`, `after`) of which rows (`status`). Pure: returns clean
// values or throws a 400 naming the `parameter` and the `rule` it broke (docs/todos.md lists them).
import { badRequest } from '../http/errors';
import { MAX_TODO_ID, quote, shortName, STATUS_RULE, TODO_STATUSES, type TodoStatus } from './todo';

/**
 * Rows per page when `limit` is not given. 100 rows of the reference's shape are about 5 KB (100 KB at
 * most, with every item 255 four-byte characters), read by one index range scan of 101 entries: well
 * under a millisecond of the worker's only connection, and a client walks 10,000 rows in 100 requests.
 */
export const DEFAULT_PAGE_LIMIT = 100;
/**
 * The largest `limit`. A page of 1000 rows is at most about 1.1 MB of JSON (and its rows in memory
 * about as much again), so 16 requests holding one page each stay far below the worker's memory
 * budget, and one statement holds the connection for a few milliseconds at most. A bigger page would
 * mostly save round trips a client can afford.
 */
export const MAX_PAGE_LIMIT = 1000;

export interface PageQuery {
  status?: TodoStatus;
  /** Rows with an id above this one (0: from the first row). */
  after: number;
  limit: number;
}

export type QueryValues = Record<string, string | string[] | undefined>;

const PARAMETERS = ['status', 'limit', 'after'];
const LIMIT_RULE = `limit must be a whole number from 1 to ${MAX_PAGE_LIMIT} (default ${DEFAULT_PAGE_LIMIT}), written without sign or leading zeros`;
const AFTER_RULE = `after must be a todo id from 0 to ${MAX_TODO_ID}, written without sign or leading zeros (take it from the Link header's next URL)`;
const POSITIVE = /^[1-9][0-9]*$/;
const NON_NEGATIVE = /^(0|[1-9][0-9]*)$/;

function single(query: QueryValues, name: string, rule: string): string | undefined {
  const value = query[name];
  if (Array.isArray(value)) {
    throw badRequest(`${name} is given ${value.length} times: give it once; ${rule}.`, {
      parameter: name,
      rule: 'single',
    });
  }
  return value;
}

/** A whole number in [min, max] written canonically, or the 400 naming `name` and its rule. */
function wholeNumber(name: string, given: string, min: 0 | 1, max: number, rule: string): number {
  if (!(min === 0 ? NON_NEGATIVE : POSITIVE).test(given)) {
    throw badRequest(`Invalid ${name} ${quote(given, 20)}: ${rule}.`, {
      parameter: name,
      rule: min === 0 ? 'non_negative_integer' : 'positive_integer',
    });
  }
  const value = Number(given); // a thousand digits become Infinity, still out of range
  if (value > max)
    throw badRequest(`${name} ${quote(given, 20)} is out of range: ${rule}.`, { parameter: name, rule: 'range' });
  return value;
}

/** The query of GET /todos: any of `status`, `limit` and `after`, each at most once. */
export function parsePageQuery(query: QueryValues): PageQuery {
  const unknown = Object.keys(query).find((key) => !PARAMETERS.includes(key));
  if (unknown !== undefined) {
    throw badRequest(`Unknown query parameter ${quote(unknown)}: GET /todos takes only status, limit and after.`, {
      parameter: shortName(unknown),
      rule: 'unknown_parameter',
    });
  }
  const page: PageQuery = { after: 0, limit: DEFAULT_PAGE_LIMIT };
  const status = single(query, 'status', STATUS_RULE);
  if (status !== undefined) {
    if (!(TODO_STATUSES as readonly string[]).includes(status)) {
      throw badRequest(`Invalid status ${quote(status)}: ${STATUS_RULE}.`, { parameter: 'status', rule: 'one_of' });
    }
    page.status = status as TodoStatus;
  }
  const limit = single(query, 'limit', LIMIT_RULE);
  if (limit !== undefined) page.limit = wholeNumber('limit', limit, 1, MAX_PAGE_LIMIT, LIMIT_RULE);
  const after = single(query, 'after', AFTER_RULE);
  if (after !== undefined) page.after = wholeNumber('after', after, 0, MAX_TODO_ID, AFTER_RULE);
  return page;
}
