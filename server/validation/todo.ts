// The rules for what a client may send about todos: the `:id` in the path and the JSON of POST and
// PATCH (the query of GET /todos: page.ts). Pure functions: each returns clean values or throws a 400
// whose body names where the problem is (`parameter` for the path, `field` for the JSON body) and the
// `rule` it broke, so a client can react without parsing the message. docs/todos.md lists every rule.
import { badRequest } from '../http/errors';

export const TODO_STATUSES = ['pending', 'done'] as const;
export type TodoStatus = (typeof TODO_STATUSES)[number];

/** test.todos.id is INT UNSIGNED. */
export const MAX_TODO_ID = 4_294_967_295;
/** test.todos.item is VARCHAR(255) in utf8mb4, which counts Unicode code points, not bytes or UTF-16 units. */
export const MAX_ITEM_CODE_POINTS = 255;

export interface NewTodo {
  item: string;
  status: TodoStatus;
}

export interface TodoPatch {
  item?: string;
  status?: TodoStatus;
}

const FIELDS = ['item', 'status'];
const ITEM_RULE = `item must be a string of 1 to ${MAX_ITEM_CODE_POINTS} characters that is not only whitespace`;
export const STATUS_RULE = `status must be one of ${TODO_STATUSES.map((s) => `"${s}"`).join(', ')}`;
const ID_RULE = `id must be a whole number from 1 to ${MAX_TODO_ID}, written without sign or leading zeros`;
// An unpaired UTF-16 surrogate (JSON's "\ud800" escape yields one) has no UTF-8 form: the driver would
// store U+FFFD in its place, so the row would not hold what was sent.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const CANONICAL_ID = /^[1-9][0-9]*$/;

/** A name or value from the request, shortened (by code points) and quoted for an error message. */
export function quote(value: string, max = 40): string {
  const points = [...value];
  return JSON.stringify(points.length > max ? `${points.slice(0, max).join('')}…` : value);
}

/** An unknown key, cut to a bounded length to be named in the error body. */
export function shortName(key: string): string {
  const points = [...key];
  return points.length > 64 ? points.slice(0, 64).join('') : key;
}

function fieldError(field: string, rule: string, message: string) {
  return badRequest(message, { field, rule });
}

/** Parses the `:id` of /todos/:id. */
export function parseTodoId(raw: string | undefined): number {
  const given = raw ?? '';
  if (!CANONICAL_ID.test(given)) {
    throw badRequest(`Invalid id ${quote(given, 20)}: ${ID_RULE}.`, { parameter: 'id', rule: 'positive_integer' });
  }
  const id = Number(given); // a thousand digits become Infinity, still out of range
  if (id > MAX_TODO_ID) {
    throw badRequest(`Id ${quote(given, 20)} is out of range: ${ID_RULE}.`, { parameter: 'id', rule: 'range' });
  }
  return id;
}

/**
 * Checks an item and returns it exactly as sent: whitespace is only looked at (an item must not be blank
 * once trimmed), never removed, and the 255 limit counts the string as it will be stored.
 */
export function parseItem(value: unknown): string {
  if (typeof value !== 'string') {
    throw fieldError(
      'item',
      'string',
      `item must be a string, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}: ${ITEM_RULE}.`,
    );
  }
  if (LONE_SURROGATE.test(value)) {
    throw fieldError(
      'item',
      'unicode',
      `item contains an unpaired UTF-16 surrogate, which is not Unicode text and cannot be stored: ${ITEM_RULE}.`,
    );
  }
  if (value.trim() === '') {
    throw fieldError('item', 'not_blank', `item is empty or only whitespace: ${ITEM_RULE}.`);
  }
  const length = [...value].length;
  if (length > MAX_ITEM_CODE_POINTS) {
    throw fieldError('item', 'max_length', `item has ${length} characters (Unicode code points): ${ITEM_RULE}.`);
  }
  return value;
}

export function parseStatus(value: unknown): TodoStatus {
  if (typeof value === 'string' && (TODO_STATUSES as readonly string[]).includes(value)) return value as TodoStatus;
  const shown =
    typeof value === 'string'
      ? quote(value)
      : value === null
        ? 'null'
        : Array.isArray(value)
          ? 'an array'
          : typeof value;
  throw fieldError('status', 'one_of', `Invalid status ${shown}: ${STATUS_RULE}.`);
}

/** The body must be a JSON object holding only known fields; returns it as a record to read from. */
function fieldsOf(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    const kind = body === null ? 'null' : Array.isArray(body) ? 'an array' : typeof body;
    throw fieldError(
      'body',
      'object',
      `The body must be a JSON object such as {"item": "...", "status": "pending"}, got ${kind}.`,
    );
  }
  const record = body as Record<string, unknown>;
  // Object.keys sees an own "__proto__" key too, which JSON.parse creates as plain data.
  const unknown = Object.keys(record).find((key) => !FIELDS.includes(key));
  if (unknown !== undefined) {
    throw fieldError(
      shortName(unknown),
      'unknown_field',
      `Unknown field ${quote(unknown)}: a todo has only the fields item and status.`,
    );
  }
  return record;
}

/** The body of POST /todos: `item` required, `status` optional (default "pending"). */
export function parseNewTodo(body: unknown): NewTodo {
  const fields = fieldsOf(body);
  if (!Object.hasOwn(fields, 'item')) throw fieldError('item', 'required', `item is required: ${ITEM_RULE}.`);
  return {
    item: parseItem(fields.item),
    status: Object.hasOwn(fields, 'status') ? parseStatus(fields.status) : 'pending',
  };
}

/** The body of PATCH /todos/:id: any of `item`, `status`, at least one. */
export function parseTodoPatch(body: unknown): TodoPatch {
  const fields = fieldsOf(body);
  const patch: TodoPatch = {};
  if (Object.hasOwn(fields, 'item')) patch.item = parseItem(fields.item);
  if (Object.hasOwn(fields, 'status')) patch.status = parseStatus(fields.status);
  if (patch.item === undefined && patch.status === undefined) {
    throw fieldError('body', 'not_empty', 'The body must set at least one of item and status.');
  }
  return patch;
}
