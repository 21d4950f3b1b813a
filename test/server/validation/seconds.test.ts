import { expect } from 'chai';
import { HttpError } from '../../../server/http/errors';
import { parseSleepSeconds } from '../../../server/validation/seconds';

describe('parseSleepSeconds(raw, max)', () => {
  for (const [raw, expected] of [
    ['0', 0],
    ['1', 1],
    ['0.25', 0.25],
    ['.5', 0.5],
    ['60', 60],
    ['007', 7],
    ['59.999', 59.999],
  ] as const) {
    it(`accepts "${raw}" as ${expected}`, () => {
      expect(parseSleepSeconds(raw, 60)).to.equal(expected);
    });
  }

  for (const raw of [
    '',
    'abc',
    '-1',
    '1e9',
    '1E2',
    '0x10',
    'NaN',
    'Infinity',
    ' 1',
    '1 ',
    '1.',
    '+1',
    '1;DROP TABLE todos',
    '60.0001',
    '61',
    '1'.repeat(21),
  ]) {
    it(`rejects "${raw}" with a 400 naming the parameter and the rule`, () => {
      let thrown: unknown;
      try {
        parseSleepSeconds(raw, 60);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).to.be.instanceOf(HttpError);
      const error = thrown as HttpError;
      expect(error.status).to.equal(400);
      expect(error.details.parameter).to.equal('s');
      expect(error.details.rule).to.equal(
        raw === '' ? 'required' : ['60.0001', '61'].includes(raw) ? 'range' : 'decimal',
      );
      expect(error.message).to.contain('s must be a decimal number of seconds from 0 to 60');
    });
  }

  it('rejects undefined as missing', () => {
    expect(() => parseSleepSeconds(undefined, 5)).to.throw(
      HttpError,
      /^Missing seconds: s must be a decimal number of seconds from 0 to 5 /,
    );
  });

  it('uses the configured maximum', () => {
    expect(parseSleepSeconds('5', 5)).to.equal(5);
    expect(() => parseSleepSeconds('5.5', 5)).to.throw(HttpError, /out of range/);
  });
});
