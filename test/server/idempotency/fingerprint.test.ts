import { expect } from 'chai';
import { canonicalJson, requestFingerprint, type FingerprintedRequest } from '../../../server/idempotency/fingerprint';

const base: FingerprintedRequest = {
  method: 'POST',
  path: '/todos',
  ifMatch: '',
  body: { item: 'milk', status: 'pending' },
};

describe('canonicalJson(value)', () => {
  it('sorts object keys at every depth and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).to.equal(
      '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}',
    );
  });

  it('writes strings as JSON does, so equal strings give equal text and different ones differ', () => {
    expect(canonicalJson('milk 🥛 "x"\n')).to.equal(JSON.stringify('milk 🥛 "x"\n'));
    expect(canonicalJson('e\u0301')).to.not.equal(canonicalJson('\u00e9'));
  });
});

describe('requestFingerprint(request)', () => {
  const fingerprint = (change: Partial<FingerprintedRequest>) => requestFingerprint({ ...base, ...change });

  it('is 64 hex characters and the same for the same request', () => {
    expect(fingerprint({})).to.match(/^[0-9a-f]{64}$/);
    expect(fingerprint({})).to.equal(fingerprint({}));
  });

  it("ignores the order of the body's keys (a retry may serialise the object again)", () => {
    expect(fingerprint({ body: { status: 'pending', item: 'milk' } })).to.equal(fingerprint({}));
  });

  it('ignores the case of the method and whitespace around If-Match', () => {
    expect(fingerprint({ method: 'post' })).to.equal(fingerprint({}));
    expect(fingerprint({ ifMatch: ' "abc" ' })).to.equal(fingerprint({ ifMatch: '"abc"' }));
  });

  it('changes with every part: method, path, If-Match, any body value, a key added or left out', () => {
    const variants = [
      fingerprint({}),
      fingerprint({ method: 'PATCH' }),
      fingerprint({ path: '/todos/1' }),
      fingerprint({ ifMatch: '"abc"' }),
      fingerprint({ ifMatch: '*' }),
      fingerprint({ body: { item: 'milk ', status: 'pending' } }),
      fingerprint({ body: { item: 'milk', status: 'done' } }),
      fingerprint({ body: { item: 'milk' } }),
      fingerprint({ body: { item: 'milk', status: 'pending', extra: null } }),
      fingerprint({ body: undefined }),
      fingerprint({ body: null }),
      fingerprint({ body: 'null' }),
    ];
    expect(new Set(variants).size).to.equal(variants.length);
  });

  it('cannot be fooled by moving text between the parts', () => {
    expect(fingerprint({ path: '/todos', ifMatch: '"a"' })).to.not.equal(
      fingerprint({ path: '/todos"', ifMatch: 'a"' }),
    );
  });
});
