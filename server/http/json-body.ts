// Reads a request's JSON body, strictly: 415 unless it is declared JSON (UTF-8, not compressed), 413 once
// it passes the limit (from Content-Length before a byte is read, else by counting while reading), 400
// for bytes that are not UTF-8 or text that is not JSON. A body over the limit is never buffered whole.
import type { IncomingMessage } from 'node:http';
import type { Context } from 'koa';
import { badRequest, HttpError } from './errors';

function tooLarge(limitBytes: number): HttpError {
  return new HttpError(
    413,
    'payload_too_large',
    `The request body is larger than the limit of ${limitBytes} bytes.`,
    {},
    { limitBytes },
  );
}

function unsupported(message: string): HttpError {
  return new HttpError(415, 'unsupported_media_type', message);
}

/** Collects the body, giving up (and draining the rest unread) once it passes `limitBytes`. */
function collect(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const cleanUp = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onCutOff);
      req.off('close', onCutOff);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received <= limitBytes) {
        chunks.push(chunk);
        return;
      }
      cleanUp();
      // Keep reading and dropping the rest instead of destroying the request: the socket stays usable,
      // so the client can read the 413 (a close with unread bytes would reset the connection).
      req.resume();
      reject(tooLarge(limitBytes));
    };
    const onEnd = () => {
      cleanUp();
      resolve(Buffer.concat(chunks));
    };
    // The client went away mid-body ('aborted' comes as an error, then 'close'): nobody will read the
    // answer, but it must not become a logged 500 either.
    const onCutOff = () => {
      cleanUp();
      reject(badRequest('The request body ended before it was complete.', { field: 'body', rule: 'complete' }));
    };
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onCutOff);
    req.once('close', onCutOff);
  });
}

/** The parsed JSON value of the request body (any JSON type: the caller checks its shape). */
export async function readJsonBody(ctx: Context, limitBytes: number): Promise<unknown> {
  const encoding = ctx.get('Content-Encoding').trim().toLowerCase();
  if (encoding !== '' && encoding !== 'identity') {
    throw unsupported(
      `Content-Encoding ${JSON.stringify(encoding.slice(0, 40))} is not supported: send the JSON uncompressed.`,
    );
  }
  // is() answers null when the request has no body at all (no Content-Length, no Transfer-Encoding).
  const isJson = ctx.request.is('application/json', '+json');
  if (isJson === null) throw badRequest('A JSON body is required.', { field: 'body', rule: 'required' });
  if (isJson === false) {
    const type = ctx.get('Content-Type');
    throw unsupported(
      `The body must be JSON (Content-Type: application/json), got ${type ? JSON.stringify(type.slice(0, 80)) : 'no Content-Type'}.`,
    );
  }
  const charset = ctx.request.charset.toLowerCase();
  if (charset !== '' && charset !== 'utf-8' && charset !== 'utf8') {
    throw unsupported(`The body must be UTF-8 JSON, got charset ${JSON.stringify(charset.slice(0, 40))}.`);
  }
  const declared = ctx.request.length;
  if (declared !== undefined && declared > limitBytes) throw tooLarge(limitBytes);

  const bytes = await collect(ctx.req, limitBytes);
  let text: string;
  try {
    // fatal: bytes that are not UTF-8 are refused, not replaced with U+FFFD (which would then be stored).
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw badRequest('The request body is not valid UTF-8.', { field: 'body', rule: 'utf8' });
  }
  if (text.trim() === '')
    throw badRequest('The request body is empty: send a JSON object.', { field: 'body', rule: 'required' });
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw badRequest(`The request body is not valid JSON: ${(error as Error).message}`, {
      field: 'body',
      rule: 'json',
    });
  }
}
