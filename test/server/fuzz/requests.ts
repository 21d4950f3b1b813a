// fast-check arbitraries for the route fuzzer: whole HTTP/1.1 requests as data (method, target, headers,
// body, framing), turned into exact bytes by serialize(). Strings other than bodies are "binary" strings:
// one character per byte (latin1), so a request line or header can hold bytes that are not UTF-8.
import fc from 'fast-check';

/** A body: text sent as UTF-8 or as latin1 (one byte per character), or `fill` repeated up to `size` bytes. */
export type Body = { utf8: string } | { latin1: string } | { fill: string; size: number; prefix?: string };

/**
 * How the body is delimited. `length`/`chunked` are correct; the others are what a parser must refuse or
 * survive: both headers at once, a chunk size that is not hex or overflows, two different lengths, a
 * length that is not a number, none at all (the body then reads as the next request), or a length
 * larger than the body sent (the request is cut off: the client half-closes after it).
 */
export type Framing =
  'length' | 'chunked' | 'none' | 'length+chunked' | 'bad-chunk' | 'two-lengths' | 'bad-length' | 'cut-off';

/** Changes made to the bytes of the request head after it is built (protocol-level malformations). */
export type HeadMutation =
  | { op: 'lf' }
  | { op: 'lone-cr' }
  | { op: 'space-before-colon' }
  | { op: 'obs-fold' }
  | { op: 'insert'; at: number; byte: number }
  | { op: 'version'; version: string }
  | { op: 'junk-after'; junk: string }
  | { op: 'truncate'; at: number };

export interface FuzzRequest {
  /** `refused`: invalid by construction, must be answered 4xx; `random`: anything, never 5xx. */
  family: 'refused' | 'random';
  /** Which of the stack's workers receives it. */
  worker: number;
  method: string;
  target: string;
  headers: [string, string][];
  body: Body;
  framing: Framing;
  /** Chunk sizes for `chunked` (the body is cut into pieces of these sizes, the rest in one). */
  chunks: number[];
  /** The invalid chunk-size line of `bad-chunk`, or the invalid value of `bad-length`. */
  badValue: string;
  mutation?: HeadMutation;
}

export const TEN_MB = 10 * 1024 * 1024;
/** Methods @koa/router implements (any other one is answered 501 by design, see error-middleware.ts). */
export const ROUTER_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const OTHER_METHODS = [
  'TRACE',
  'CONNECT',
  'PROPFIND',
  'QUERY',
  'MKCOL',
  'PURGE',
  'SEARCH',
  'M-SEARCH',
  'REPORT',
  'LINK',
];
const BAD_METHODS = ['get', 'G@T', '', 'GET GET', 'P\xd6ST', 'X'.repeat(300), 'GE\x00T', 'GET\t', '\x80', 'PRI'];

const hex = (byte: number) => `%${byte.toString(16).padStart(2, '0').toUpperCase()}`;
const bytesToLatin1 = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1');

// ---- paths and query strings ------------------------------------------------------------------------

const idText = fc.oneof(
  fc.constantFrom(
    '1',
    '2',
    '3',
    '4294967295',
    '4294967296',
    '0',
    '01',
    '-1',
    '+1',
    '%2B1',
    '1.5',
    '1e3',
    '0x10',
    'abc',
    '',
    '%201',
    '1%00',
    '99999999999999999999',
    '1'.repeat(400),
    "1'%20OR%20'1'='1",
    '%31',
    '１',
    '%EF%BC%91',
    '1%2F2',
  ),
  fc.nat().map(String),
  fc.string({ unit: 'grapheme', maxLength: 10 }).map(encodeURIComponent),
);

const segment = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'todos',
      'sleep',
      'healthz',
      'readyz',
      'pool',
      'metrics',
      'nope',
      '.',
      '..',
      '%2e%2e',
      '%2E',
      '',
      'TODOS',
      'todos;x',
      '%74odos',
      '%2F',
      '%00',
      '%',
      '%zz',
      '%E0%A4%A',
      '~',
      '..%2F..',
    ),
  },
  fc.string({ unit: 'grapheme', maxLength: 12 }).map(encodeURIComponent),
  // Bytes as sent: spaces, controls and bytes over 0x7F are not allowed in a request target.
  fc.uint8Array({ minLength: 1, maxLength: 6 }).map(bytesToLatin1),
  // Percent-encoded bytes that are mostly not UTF-8.
  fc.uint8Array({ minLength: 1, maxLength: 6 }).map((bytes) => [...bytes].map(hex).join('')),
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 20_000 }).map((n) => 'a'.repeat(n)) },
);

const path = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom('/', '/healthz', '/readyz', '/pool', '/metrics', '/todos', '/sleep', '/sleep/'),
  },
  {
    weight: 4,
    arbitrary: fc.tuple(fc.constantFrom('/todos/', '/sleep/', '/TODOS/', '/todos//'), idText).map(([a, b]) => a + b),
  },
  { weight: 3, arbitrary: fc.array(segment, { maxLength: 6 }).map((parts) => `/${parts.join('/')}`) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '*',
      'http://x/todos',
      'http://127.0.0.1/todos/1',
      '//todos',
      '/todos/1/',
      '/todos/1/extra',
      '\\todos',
      'todos',
      '/todos/../todos/1',
      '/./todos',
      '/todos/%2e%2e/healthz',
      '/healthz/..',
      'http://[::1]/',
      'x:1',
      '/%ZZ',
      '/todos/%',
    ),
  },
);

const query = fc.oneof(
  { weight: 3, arbitrary: fc.constant('') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '?',
      '?status=done',
      '?status=pending',
      '?status=DONE',
      '?status=done&status=pending',
      '?status[]=done',
      '?status[a]=b',
      '?status=%FF',
      '?%',
      '?a=b',
      '?status',
      '?&&&=',
      '?status=done&x=1',
      '?status=%00',
      '?status=done#frag',
      '#',
      '?status=d%6Fne',
      '?__proto__=1',
      '?constructor=1',
      '?status=done&status=done',
    ),
  },
  fc
    .array(fc.tuple(fc.string({ unit: 'binary-ascii', maxLength: 8 }), fc.string({ unit: 'binary', maxLength: 12 })), {
      maxLength: 4,
    })
    .map((pairs) => `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`),
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 20_000 }).map((n) => `?status=${'x'.repeat(n)}`) },
);

export const target = fc.tuple(path, query).map(([p, q]) => p + q);

// ---- headers ----------------------------------------------------------------------------------------

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/json;charset="UTF-8"',
  'application/json; charset=latin1',
  'application/json; charset=utf-16',
  'application/vnd.api+json',
  'application/merge-patch+json',
  'application/json, text/plain',
  ';;;',
  '',
  'application/json; boundary',
  'application/json\x00',
  'text/plain',
  'text/json',
  'multipart/form-data; boundary=x',
  'application/x-www-form-urlencoded',
  'application/',
  '/json',
  'application/json; charset=',
  'application/json; charset=utf-8; charset=latin1',
  `application/json; x=${'y'.repeat(3000)}`,
  '*/*',
  'application/*',
];

const contentType = fc.oneof(fc.constantFrom(...CONTENT_TYPES), fc.string({ unit: 'binary', maxLength: 40 }));

const IF_MATCH_MALFORMED = [
  'abc',
  '"unterminated',
  '"a" "b"',
  '*, "a"',
  'W/',
  ',,x',
  '"\x00"',
  '""x',
  'W/ "a"',
  '"a",,"b" x',
  '\xff',
  '**',
];
const IF_MATCH_NOT_MATCHING = ['"nope"', 'W/"x"', '"a", "b"', '""', ', "zz"', '"0123456789abcdef"'];
const ifMatch = fc.oneof(
  fc.constantFrom(...IF_MATCH_MALFORMED, ...IF_MATCH_NOT_MATCHING, '*', ' '),
  fc.string({ unit: 'binary', maxLength: 30 }),
);

const headerName = fc.oneof(
  fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,20}$/),
  // Names that are not tokens: spaces, separators, bytes over 0x7F, empty.
  fc.constantFrom('', 'Bad Name', 'X:Y', 'X\x7f', '\xe9t\xe9', 'X(', '"X"', 'X\tY'),
);

const header: fc.Arbitrary<[string, string]> = fc.oneof(
  fc.tuple(fc.constantFrom('Content-Type', 'content-type', 'CONTENT-TYPE'), contentType),
  fc.tuple(
    fc.constant('Content-Encoding'),
    fc.constantFrom('gzip', 'identity', 'br', 'IDENTITY', ' identity ', 'gzip, identity', 'x'.repeat(100), ''),
  ),
  fc.tuple(fc.constant('If-Match'), ifMatch),
  fc.tuple(
    fc.constant('X-Request-Id'),
    fc.oneof(fc.stringMatching(/^[A-Za-z0-9._-]{1,70}$/), fc.string({ unit: 'binary', maxLength: 80 })),
  ),
  fc.tuple(
    fc.constant('Connection'),
    fc.constantFrom('close', 'keep-alive', 'Upgrade', 'close, keep-alive', 'TE', 'foo', 'Content-Length'),
  ),
  fc.tuple(fc.constant('Upgrade'), fc.constantFrom('websocket', 'h2c', 'HTTP/2.0')),
  fc.tuple(fc.constant('Expect'), fc.constantFrom('100-continue', 'nope', '')),
  fc.tuple(fc.constant('Host'), fc.constantFrom('x', '', 'a b', '127.0.0.1:1', '\xff', 'x, y')),
  fc.tuple(
    fc.constant('Transfer-Encoding'),
    fc.constantFrom(
      'chunked',
      'gzip',
      'identity',
      'chunked, gzip',
      'gzip, chunked',
      'Chunked',
      ' chunked',
      'chunked\x0b',
      'x',
    ),
  ),
  fc.tuple(fc.constant('Content-Length'), fc.constantFrom('0', '5', '-1', 'abc', '1, 1', ' 7', '99999999999999999999')),
  fc.tuple(
    fc.constantFrom(
      'Accept',
      'Accept-Encoding',
      'Accept-Charset',
      'Range',
      'Cookie',
      'Authorization',
      'Origin',
      'X-Forwarded-For',
    ),
    fc.string({ unit: 'binary', maxLength: 40 }),
  ),
  fc.tuple(headerName, fc.string({ unit: 'binary', maxLength: 50 })),
  // Huge values: past 16 KB in total the answer is 431.
  fc.tuple(
    fc.constant('X-Huge'),
    fc.integer({ min: 1_000, max: 20_000 }).map((n) => 'h'.repeat(n)),
  ),
);

/** Headers that never make a request invalid by themselves. */
const benignHeader: fc.Arbitrary<[string, string]> = fc.oneof(
  fc.tuple(
    fc.constant('X-Request-Id'),
    fc.oneof(
      fc.stringMatching(/^[A-Za-z0-9._-]{1,70}$/),
      fc
        .string({ unit: 'binary-ascii', maxLength: 80 })
        .filter((value) => ![...value].some((c) => (c < ' ' && c !== '\t') || c === '\x7f')),
    ),
  ),
  fc.tuple(fc.constantFrom('Accept', 'User-Agent', 'X-Fuzz'), fc.stringMatching(/^[ -~]{0,40}$/)),
  fc.tuple(fc.constant('Connection'), fc.constantFrom('close', 'keep-alive')),
);

// ---- bodies -----------------------------------------------------------------------------------------

const itemValue = fc.oneof(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }), fc.string({ maxLength: 10 }));
const validTodoJson = fc
  .record({ item: itemValue, status: fc.constantFrom('pending', 'done') }, { requiredKeys: ['item'] })
  .map((todo) => JSON.stringify(todo));

/** JSON fragments that are never a valid `item`. */
const invalidItem = fc.oneof(
  fc.constantFrom(
    'null',
    'true',
    '1',
    '1e999',
    '-1e999',
    '123456789012345678901234567890',
    '-0',
    '[]',
    '{}',
    '["x"]',
    '{"item":"x"}',
    '""',
    '" "',
    '"\\t\\n"',
    '"\\u00a0\\u3000\\ufeff"',
    '"\\ud800"',
    '"x\\udc00"',
    '"\\ude00\\ud83d"',
    JSON.stringify('a'.repeat(256)),
    JSON.stringify('😀'.repeat(256)),
    JSON.stringify(`${'b'.repeat(255)} `),
  ),
  fc.string({ unit: 'grapheme', minLength: 256, maxLength: 400 }).map((s) => JSON.stringify(s)),
  fc.double().map((n) => (Number.isFinite(n) ? String(n) : '1e400')),
);
const invalidStatus = fc.oneof(
  fc.constantFrom(
    '"DONE"',
    '"Done"',
    '""',
    '"done "',
    'null',
    '1',
    'true',
    '"archived"',
    '["done"]',
    '{}',
    '1e999',
    '"pending\\u0000"',
  ),
  fc
    .string({ maxLength: 10 })
    .filter((s) => s !== 'pending' && s !== 'done')
    .map((s) => JSON.stringify(s)),
);
const unknownKey = fc.oneof(
  fc.constantFrom('extra', 'id', 'Item', '__proto__', 'constructor', '', 'prototype', 'toString'),
  fc.string({ maxLength: 10 }).filter((key) => key !== 'item' && key !== 'status'),
);

/** JSON objects that POST and PATCH must both refuse. */
const invalidTodoJson = fc.oneof(
  fc
    .tuple(invalidItem, fc.option(fc.constantFrom('"pending"', '"done"')))
    .map(([item, status]) => `{"item": ${item}${status ? `, "status": ${status}` : ''}}`),
  fc
    .tuple(fc.option(itemValue), invalidStatus)
    .map(([item, status]) => `{${item === null ? '' : `"item": ${JSON.stringify(item)}, `}"status": ${status}}`),
  fc
    .tuple(itemValue, unknownKey, fc.jsonValue({ maxDepth: 2 }))
    .map(
      ([item, key, value]) =>
        `{"item": ${JSON.stringify(item)}, ${JSON.stringify(key)}: ${JSON.stringify(value) ?? 'null'}}`,
    ),
  // Not an object at all.
  fc
    .jsonValue({ maxDepth: 3 })
    .filter((v) => typeof v !== 'object' || v === null || Array.isArray(v))
    .map((v) => JSON.stringify(v) ?? 'null'),
);

const MALFORMED = [
  '{',
  '{"item":',
  '{"item": "x",}',
  "{'item': 'x'}",
  'NaN',
  '{"item": "x"} trailing',
  '[',
  ']',
  '{"item": "a\x00b"}',
  '{"item": "x"}{"item": "y"}',
  '{item: "x"}',
  '{"item": "x\x01"}',
  '{"item" "x"}',
  '{"item": "\\x41"}',
  '{"item": 0x10}',
  '{"item": .5}',
  '{"item": +1}',
  '{"item": Infinity}',
  '{"item": undefined}',
  '//\n{"item":"x"}',
  '\x00',
  '{"item": "x"}\x00',
  '   \n\t  ',
  '',
  '{"item":"\\u12"}',
];

/** Deep nesting, inside the body limit (16 KB) or past it. */
const deep = fc
  .tuple(fc.integer({ min: 50, max: 20_000 }), fc.constantFrom('array', 'object', 'item', 'open'))
  .map(([n, shape]) => {
    if (shape === 'array') return '['.repeat(n) + ']'.repeat(n);
    if (shape === 'object') return `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
    if (shape === 'item') return `${'{"item":'.repeat(n)}"x"${'}'.repeat(n)}`;
    return '{"item":['.repeat(n);
  });

/** Bytes that are not UTF-8, inside an otherwise valid todo. */
const invalidUtf8Todo = fc
  .uint8Array({ minLength: 1, maxLength: 8 })
  .filter((bytes) => {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      return false;
    } catch {
      return true;
    }
  })
  .map((bytes): Body => ({ latin1: `{"item": "${bytesToLatin1(bytes)}"}` }));

const hugeBody = fc.constantFrom<Body>(
  { fill: 'a', size: TEN_MB },
  { fill: ' ', size: TEN_MB, prefix: '{"item": "x"}' },
  { fill: '[', size: TEN_MB },
  { fill: ' ', size: 16_385, prefix: '{"item": "x"' },
);

/** Bodies POST and PATCH must refuse, whatever the rest of the request. */
export const refusedBody: fc.Arbitrary<Body> = fc.oneof(
  { weight: 6, arbitrary: invalidTodoJson.map((utf8): Body => ({ utf8 })) },
  { weight: 3, arbitrary: fc.constantFrom(...MALFORMED).map((utf8): Body => ({ utf8 })) },
  { weight: 2, arbitrary: deep.map((utf8): Body => ({ utf8 })) },
  { weight: 2, arbitrary: invalidUtf8Todo },
  { weight: 1, arbitrary: hugeBody },
);

export const anyBody: fc.Arbitrary<Body> = fc.oneof(
  { weight: 3, arbitrary: fc.constant<Body>({ utf8: '' }) },
  { weight: 3, arbitrary: validTodoJson.map((utf8): Body => ({ utf8 })) },
  {
    weight: 2,
    arbitrary: fc
      .record({ status: fc.constantFrom('pending', 'done') })
      .map((v): Body => ({ utf8: JSON.stringify(v) })),
  },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v): Body => ({ utf8: JSON.stringify(v) ?? 'null' })) },
  // A byte order mark before valid JSON is accepted (the UTF-8 decoder drops it, as RFC 8259 allows).
  { weight: 1, arbitrary: validTodoJson.map((json): Body => ({ utf8: `\ufeff${json}` })) },
  { weight: 6, arbitrary: refusedBody },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map((latin1): Body => ({ latin1 })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((bytes): Body => ({ latin1: bytesToLatin1(bytes) })) },
);

// ---- framing ----------------------------------------------------------------------------------------

const goodFraming = fc.constantFrom<Framing>('length', 'length', 'length', 'chunked');
const anyFraming = fc.oneof(
  { weight: 8, arbitrary: goodFraming },
  {
    weight: 3,
    arbitrary: fc.constantFrom<Framing>('none', 'length+chunked', 'bad-chunk', 'two-lengths', 'bad-length', 'cut-off'),
  },
);
const badValue = fc.oneof(
  fc.constantFrom(
    'zz',
    '-1',
    'ffffffffffffffffffff',
    '',
    ' 5',
    '5 5',
    '0x5',
    '5;',
    '1\x00',
    '+5',
    '5e0',
    '٥',
    'FFFFFFFF',
  ),
  fc.string({ unit: 'binary', maxLength: 12 }),
);
const chunks = fc.array(fc.integer({ min: 1, max: 4096 }), { maxLength: 4 });

const mutation: fc.Arbitrary<HeadMutation> = fc.oneof(
  fc.constant<HeadMutation>({ op: 'lf' }),
  fc.constant<HeadMutation>({ op: 'lone-cr' }),
  fc.constant<HeadMutation>({ op: 'space-before-colon' }),
  fc.constant<HeadMutation>({ op: 'obs-fold' }),
  fc.record({
    op: fc.constant('insert' as const),
    at: fc.nat(),
    byte: fc.oneof(fc.integer({ min: 0, max: 0x1f }), fc.integer({ min: 0x7f, max: 0xff })),
  }),
  fc.record({
    op: fc.constant('version' as const),
    version: fc.constantFrom(
      'HTTP/1.0',
      'HTTP/0.9',
      'HTTP/2.0',
      'HTTP/1.10',
      'http/1.1',
      'HTTP/1',
      'HTTP/11',
      '',
      'HTTP/1.1 x',
      'HTTP/3',
    ),
  }),
  fc.record({
    op: fc.constant('junk-after' as const),
    junk: fc.oneof(
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.constantFrom('\r\n\r\n', 'GET', 'x\r\n\r\n', 'HTTP/1.1 200 OK\r\n\r\n', '0\r\n\r\n'),
    ),
  }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
);

// ---- whole requests ---------------------------------------------------------------------------------

const worker = fc.integer({ min: 0, max: 1 });
const ABSENT_ID = '4000000000';
const BAD_IDS = [
  'abc',
  '0',
  '-1',
  '%2B1',
  '1.5',
  '01',
  '1e3',
  '0x10',
  '%201',
  '1%00',
  '4294967296',
  '99999999999999999999',
  '%FF',
  '1%20',
  '',
];

/** Whether the router would hand `raw` to the route as a valid id (it percent-decodes path parameters). */
function isValidId(raw: string): boolean {
  let id = raw;
  try {
    id = decodeURIComponent(raw);
  } catch {
    // Left as sent, as the router does.
  }
  return /^[1-9][0-9]*$/.test(id) && Number(id) <= 4294967295;
}

function request(
  family: FuzzRequest['family'],
  parts: Omit<FuzzRequest, 'family' | 'chunks' | 'badValue'> & Partial<FuzzRequest>,
) {
  return fc.tuple(chunks, badValue).map(([c, b]): FuzzRequest => ({ family, chunks: c, badValue: b, ...parts }));
}

/** Requests to /todos that must be refused (4xx), whatever else is random about them. */
export const refusedRequest: fc.Arbitrary<FuzzRequest> = fc.oneof(
  // A bad id: refused before anything else is looked at.
  fc
    .record({
      worker,
      method: fc.constantFrom('GET', 'HEAD', 'PATCH', 'DELETE'),
      id: fc.oneof(fc.constantFrom(...BAD_IDS), idText).filter((id) => id !== '' && !isValidId(id)),
      headers: fc.array(benignHeader, { maxLength: 3 }),
      body: anyBody,
      framing: goodFraming,
    })
    .chain(({ id, method, body, ...rest }) =>
      request('refused', {
        ...rest,
        method,
        target: `/todos/${id}`,
        headers: [
          ...rest.headers,
          ...(method === 'PATCH' ? [['Content-Type', 'application/json'] as [string, string]] : []),
        ],
        body,
      }),
    ),
  // POST or PATCH with a body that breaks a rule.
  fc
    .record({
      worker,
      method: fc.constantFrom('POST', 'PATCH'),
      id: fc.constantFrom('1', '2', ABSENT_ID),
      headers: fc.array(benignHeader, { maxLength: 3 }),
      contentType: fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/vnd.api+json'),
      body: refusedBody,
      framing: goodFraming,
    })
    .chain(({ method, id, contentType: type, headers, ...rest }) =>
      request('refused', {
        ...rest,
        method,
        target: method === 'POST' ? '/todos' : `/todos/${id}`,
        headers: [['Content-Type', type], ...headers],
      }),
    ),
  // POST or PATCH with a valid body not declared as JSON, or compressed.
  fc
    .record({
      worker,
      method: fc.constantFrom('POST', 'PATCH'),
      headers: fc.array(benignHeader, { maxLength: 3 }),
      body: validTodoJson,
      bad: fc.oneof(
        fc.tuple(
          fc.constant('Content-Type'),
          contentType.filter((type) => !/json/i.test(type)),
        ),
        fc.tuple(
          fc.constant('Content-Type'),
          fc.constantFrom(
            'application/json; charset=latin1',
            'application/json; charset=utf-16',
            'text/json',
            'application/jsonx',
          ),
        ),
        fc.tuple(fc.constant('Content-Encoding'), fc.constantFrom('gzip', 'br', 'deflate', 'x', 'gzip, identity')),
      ),
      framing: goodFraming,
    })
    .chain(({ method, headers, bad, body, ...rest }) =>
      request('refused', {
        ...rest,
        method,
        target: method === 'POST' ? '/todos' : '/todos/1',
        headers:
          bad[0] === 'Content-Type' ? [bad, ...headers] : [['Content-Type', 'application/json'], bad, ...headers],
        body: { utf8: body },
      }),
    ),
  // PATCH or DELETE with an If-Match that is malformed or cannot match, or of a row that does not exist.
  fc
    .record({
      worker,
      method: fc.constantFrom('PATCH', 'DELETE'),
      headers: fc.array(benignHeader, { maxLength: 3 }),
      ifMatch: fc.constantFrom(...IF_MATCH_MALFORMED, ...IF_MATCH_NOT_MATCHING),
      absent: fc.boolean(),
      framing: goodFraming,
    })
    .chain(({ method, headers, ifMatch: tag, absent, ...rest }) =>
      request('refused', {
        ...rest,
        method,
        target: `/todos/${absent ? ABSENT_ID : '1'}`,
        headers: [['If-Match', tag], ['Content-Type', 'application/json'], ...headers],
        body: { utf8: method === 'PATCH' ? '{"status": "done"}' : '' },
      }),
    ),
  // A method no /todos route allows (405), or a write to a path that is not a todo (404, 405, 400).
  fc
    .record({
      worker,
      method: fc.constantFrom('PUT', 'POST', 'PATCH', 'DELETE'),
      target: fc.constantFrom('/todos', '/todos/1', '/', '/healthz', '/todos/1/x', '/sleep/1', '/nope', '/todos/'),
      headers: fc.array(benignHeader, { maxLength: 3 }),
      body: anyBody,
      framing: goodFraming,
    })
    // Leave out the combinations that are valid writes.
    .filter(
      ({ method, target: t }) =>
        !((method === 'POST' && (t === '/todos' || t === '/todos/')) || (t === '/todos/1' && method !== 'PUT')),
    )
    .chain((parts) =>
      request('refused', { ...parts, headers: [['Content-Type', 'application/json'], ...parts.headers] }),
    ),
  // Any of the above made invalid at the HTTP level as well.
  fc
    .record({
      worker,
      method: fc.constantFrom('POST', 'PATCH', 'DELETE'),
      id: fc.constantFrom(...BAD_IDS),
      body: anyBody,
      framing: fc.constantFrom<Framing>('length+chunked', 'bad-chunk', 'two-lengths', 'bad-length'),
    })
    .chain(({ id, method, ...rest }) =>
      request('refused', {
        ...rest,
        method,
        target: method === 'POST' ? '/todos' : `/todos/${id}`,
        headers: [['Content-Type', 'text/plain']],
      }),
    ),
);

/** Anything at all: random method, target, headers, body and framing, sometimes with a malformed head. */
export const randomRequest: fc.Arbitrary<FuzzRequest> = fc
  .record({
    worker,
    method: fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom(...ROUTER_METHODS) },
      { weight: 1, arbitrary: fc.constantFrom(...OTHER_METHODS) },
      { weight: 1, arbitrary: fc.constantFrom(...BAD_METHODS) },
    ),
    target,
    headers: fc.array(header, { maxLength: 6 }),
    body: anyBody,
    framing: anyFraming,
    chunks,
    badValue,
    // One request in four gets a malformed head.
    mutation: fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: mutation }),
  })
  .map(({ mutation: m, ...rest }): FuzzRequest => ({ family: 'random', ...rest, ...(m ? { mutation: m } : {}) }));

export const fuzzRequest = fc.oneof({ weight: 2, arbitrary: refusedRequest }, { weight: 3, arbitrary: randomRequest });

// ---- bytes ------------------------------------------------------------------------------------------

export function bodyBytes(body: Body): Buffer {
  if ('utf8' in body) return Buffer.from(body.utf8, 'utf8');
  if ('latin1' in body) return Buffer.from(body.latin1, 'latin1');
  const prefix = Buffer.from(body.prefix ?? '', 'utf8');
  return Buffer.concat([prefix, Buffer.alloc(Math.max(0, body.size - prefix.length), body.fill)]);
}

function chunked(bytes: Buffer, sizes: number[]): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (const size of [...sizes, bytes.length]) {
    if (at >= bytes.length) break;
    const piece = bytes.subarray(at, at + size);
    parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
    at += piece.length;
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

/** Long sleeps would hold the worker's one connection for seconds: such a target gets a seconds value that is refused. */
export function withoutLongSleep(raw: string): string {
  const pathPart = raw.split(/[?#]/, 1)[0] ?? '';
  const match = /^\/sleep\/([^/]*)\/?$/i.exec(pathPart);
  if (!match) return raw;
  let seconds = match[1]!;
  try {
    seconds = decodeURIComponent(seconds);
  } catch {
    return raw;
  }
  if (!/^(?:\d+(?:\.\d+)?|\.\d+)$/.test(seconds) || Number(seconds) <= 0.05) return raw;
  return `/sleep/x${raw.slice('/sleep/'.length)}`;
}

export interface Serialized {
  bytes: Buffer;
  /** The client half-closes after sending: the request is incomplete by construction. */
  cutOff: boolean;
  method: string;
}

function applyMutation(head: string, m: HeadMutation): { head: string; cutOff: boolean } {
  switch (m.op) {
    case 'lf':
      return { head: head.replaceAll('\r\n', '\n'), cutOff: false };
    case 'lone-cr':
      return { head: head.replace('\r\n', '\r'), cutOff: false };
    case 'space-before-colon':
      return { head: head.replace(/^([^:\r\n]+):/m, '$1 :').replace(/\r\n([^:\r\n]+):/, '\r\n$1 :'), cutOff: false };
    case 'obs-fold':
      return { head: head.replace('\r\n', '\r\nX-Folded: a\r\n folded'), cutOff: false };
    case 'insert': {
      const at = m.at % (head.length + 1);
      return { head: head.slice(0, at) + String.fromCharCode(m.byte) + head.slice(at), cutOff: false };
    }
    case 'version':
      return { head: head.replace(/ HTTP\/1\.1\r\n/, m.version ? ` ${m.version}\r\n` : '\r\n'), cutOff: false };
    case 'junk-after':
      return { head, cutOff: false };
    case 'truncate':
      return { head: head.slice(0, m.at % head.length), cutOff: true };
  }
}

/** The request's exact bytes. */
export function serialize(req: FuzzRequest): Serialized {
  const body = bodyBytes(req.body);
  const headers: [string, string][] = [['Host', 'fuzz'], ...req.headers];
  let payload = body;
  let cutOff = false;
  switch (req.framing) {
    case 'length':
      headers.push(['Content-Length', String(body.length)]);
      break;
    case 'chunked':
      headers.push(['Transfer-Encoding', 'chunked']);
      payload = chunked(body, req.chunks);
      break;
    case 'none':
      break;
    case 'length+chunked':
      headers.push(['Content-Length', String(body.length)], ['Transfer-Encoding', 'chunked']);
      payload = chunked(body, req.chunks);
      break;
    case 'bad-chunk':
      headers.push(['Transfer-Encoding', 'chunked']);
      payload = Buffer.concat([Buffer.from(`${req.badValue}\r\n`, 'latin1'), body, Buffer.from('\r\n0\r\n\r\n')]);
      // A size that happens to parse may wait for more bytes than follow: the client says it is done.
      cutOff = true;
      break;
    case 'two-lengths':
      headers.push(['Content-Length', String(body.length)], ['Content-Length', String(body.length + 1)]);
      break;
    case 'bad-length':
      headers.push(['Content-Length', req.badValue]);
      cutOff = true;
      break;
    case 'cut-off':
      headers.push(['Content-Length', String(body.length + 10)]);
      cutOff = true;
      break;
  }
  let head = `${req.method} ${withoutLongSleep(req.target)} HTTP/1.1\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
  let tail = Buffer.alloc(0);
  if (req.mutation) {
    const mutated = applyMutation(head, req.mutation);
    head = mutated.head;
    cutOff ||= mutated.cutOff;
    if (req.mutation.op === 'truncate') payload = Buffer.alloc(0);
    if (req.mutation.op === 'junk-after') tail = Buffer.from(req.mutation.junk, 'latin1');
  }
  // A header the fuzzer added may also frame the body (a second Content-Length, Transfer-Encoding): the
  // server may then wait for bytes that never come, so the client half-closes to say it is done.
  if (req.headers.some(([name]) => /^(content-length|transfer-encoding)$/i.test(name))) cutOff = true;
  return { bytes: Buffer.concat([Buffer.from(head, 'latin1'), payload, tail]), cutOff, method: req.method };
}

/** A short, readable account of a request (the body summarised), for failure messages. */
export function describeRequest(req: FuzzRequest, bytes: Buffer): string {
  const headEnd = bytes.indexOf('\r\n\r\n');
  const head = bytes.subarray(0, headEnd < 0 ? Math.min(bytes.length, 600) : headEnd).toString('latin1');
  const shown = head.length > 600 ? `${head.slice(0, 600)}… (${head.length} bytes)` : head;
  return (
    `${req.family} request to worker ${req.worker + 1}, ${bytes.length} bytes:\n${JSON.stringify(shown)}` +
    `\nbody (${req.framing}): ${JSON.stringify(bodyBytes(req.body).subarray(0, 200).toString('latin1'))}`
  );
}
