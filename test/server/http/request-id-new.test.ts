// New request ids (server/http/request-id.ts): version-8 UUIDs, a random part per process and a counter.
import { expect } from 'chai';
import { newRequestId, requestIdOf } from '../../../server/http/request-id';

const UUID_V8 = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('request ids: newRequestId() and requestIdOf(header)', () => {
  it('makes version-8 UUIDs (RFC 9562 variant), none twice over 100,000', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 100_000; i += 1) {
      const id = newRequestId();
      // chai only for a failure: 100,000 expects take seconds.
      if (!UUID_V8.test(id)) expect(id).to.match(UUID_V8);
      ids.add(id);
    }
    expect(ids.size).to.equal(100_000);
  });

  it('counts up in the last 48 bits under one random part', () => {
    const [a, b] = [newRequestId(), newRequestId()];
    expect(a.slice(0, 24)).to.equal(b.slice(0, 24));
    expect(parseInt(b.slice(24), 16) - parseInt(a.slice(24), 16)).to.equal(1);
  });

  it('keeps a sane X-Request-Id and replaces anything that would need escaping', () => {
    expect(requestIdOf('trace.ABC-123_x')).to.equal('trace.ABC-123_x');
    for (const bad of ['has space', 'quo"te', 'back\\slash', 'ünicode', 'a'.repeat(65), '', undefined, ['a', 'b']])
      expect(requestIdOf(bad)).to.match(UUID_V8);
  });
});
