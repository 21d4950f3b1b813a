import { expect } from 'chai';
import { HttpError } from '../../../server/http/errors';
import { parseIdempotencyKey } from '../../../server/idempotency/key';

function refusal(values: string[]): { rule: unknown; message: string } {
  try {
    parseIdempotencyKey({ 'idempotency-key': values });
  } catch (error) {
    expect(error).to.be.instanceOf(HttpError);
    const http = error as HttpError;
    expect(http.status).to.equal(400);
    expect(http.details.header).to.equal('Idempotency-Key');
    return { rule: http.details.rule, message: http.message };
  }
  throw new Error(`${JSON.stringify(values)} was accepted`);
}

describe('parseIdempotencyKey(headersDistinct)', () => {
  it('gives undefined when the request has no Idempotency-Key', () => {
    expect(parseIdempotencyKey({})).to.equal(undefined);
    expect(parseIdempotencyKey({ 'if-match': ['*'] })).to.equal(undefined);
  });

  it('keeps the key exactly as sent: case, inner spaces, quotes and every printable ASCII character', () => {
    const printable = Array.from({ length: 0x7f - 0x21 }, (_, i) => String.fromCharCode(0x21 + i)).join('');
    for (const key of [
      'a',
      'AbC',
      '8e03978e-40d5-43e8-bc93-6894a57f9324',
      '"quoted sf-string"',
      'a b',
      printable,
      'k'.repeat(255),
    ]) {
      expect(parseIdempotencyKey({ 'idempotency-key': [key] })).to.equal(key);
    }
  });

  it('refuses an empty key', () => {
    expect(refusal(['']).rule).to.equal('not_empty');
  });

  it('refuses 256 characters, naming the length', () => {
    const { rule, message } = refusal(['k'.repeat(256)]);
    expect(rule).to.equal('max_length');
    expect(message).to.equal(
      'The Idempotency-Key has 256 characters: an Idempotency-Key must be 1 to 255 printable ASCII characters (space to ~), sent once.',
    );
  });

  it('refuses control characters, DEL and bytes above ASCII (Node gives them as latin1)', () => {
    for (const key of ['a\tb', 'a\x00b', 'a\x7fb', 'caf\u00c3\u00a9', '\u00ff'])
      expect(refusal([key]).rule, JSON.stringify(key)).to.equal('printable_ascii');
  });

  it('refuses two Idempotency-Key fields instead of joining them', () => {
    expect(refusal(['a', 'b']).rule).to.equal('single');
    expect(refusal(['a', 'a']).rule).to.equal('single');
  });
});
