// If-Match parsing and strong comparison (RFC 9110 section 13.1.1). No server needed.
import { expect } from 'chai';
import { HttpError } from '../../../server/http/errors';
import { ifMatchAccepts, parseIfMatch } from '../../../server/validation/todo-if-match';

describe('parseIfMatch(header)', () => {
  it('answers undefined for an absent or empty header (an unconditional write)', () => {
    expect(parseIfMatch(undefined)).to.equal(undefined);
    expect(parseIfMatch('')).to.equal(undefined);
    expect(parseIfMatch('  ')).to.equal(undefined);
  });

  it('reads * as any current representation', () => {
    expect(parseIfMatch('*')).to.deep.equal({ any: true });
    expect(parseIfMatch(' * ')).to.deep.equal({ any: true });
  });

  it('reads one strong tag with its quotes', () => {
    expect(parseIfMatch('"abc"')).to.deep.equal({ any: false, tags: ['"abc"'] });
  });

  it('reads a list, with spaces and empty elements', () => {
    expect(parseIfMatch(' "a" ,"b",, "c" ')).to.deep.equal({ any: false, tags: ['"a"', '"b"', '"c"'] });
  });

  it('keeps a comma inside a tag, which the grammar allows', () => {
    expect(parseIfMatch('"a,b", "c"')).to.deep.equal({ any: false, tags: ['"a,b"', '"c"'] });
  });

  it('drops weak tags, which never match under strong comparison', () => {
    expect(parseIfMatch('W/"a", "b"')).to.deep.equal({ any: false, tags: ['"b"'] });
    expect(parseIfMatch('W/"a"')).to.deep.equal({ any: false, tags: [] });
  });

  for (const raw of [
    'abc',
    '"abc',
    'abc"',
    '"a" "b"',
    '*, "a"',
    ',',
    'w/"a"',
    '"a"b',
    '"a"x, "b"',
    '"a b"',
    '"a\\"b"',
  ]) {
    it(`refuses ${JSON.stringify(raw)} with a 400 naming the header`, () => {
      let thrown: unknown;
      try {
        parseIfMatch(raw);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).to.be.instanceOf(HttpError);
      expect((thrown as HttpError).status).to.equal(400);
      expect((thrown as HttpError).details).to.deep.equal({ header: 'If-Match', rule: 'entity_tags' });
    });
  }
});

describe('ifMatchAccepts(condition, etag)', () => {
  it('accepts any tag for *', () => {
    expect(ifMatchAccepts({ any: true }, '"x"')).to.equal(true);
  });

  it('accepts a listed tag and refuses one not listed', () => {
    const condition = parseIfMatch('"a", "b"')!;
    expect(ifMatchAccepts(condition, '"b"')).to.equal(true);
    expect(ifMatchAccepts(condition, '"c"')).to.equal(false);
  });

  it('never accepts through a weak tag', () => {
    expect(ifMatchAccepts(parseIfMatch('W/"a"')!, '"a"')).to.equal(false);
  });
});
