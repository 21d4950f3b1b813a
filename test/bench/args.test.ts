import { expect } from 'chai';
import { parseArgs } from '../../bench/harness/args';

describe('parseArgs(argv, defaults) of the benches', () => {
  const defaults = { seconds: 5, warmup: 1, reps: 3, 'no-post': false };

  it('keeps the defaults, reads `--name N` for numbers and flips a boolean given alone', () => {
    expect(parseArgs([], defaults)).to.deep.equal(defaults);
    expect(parseArgs(['--seconds', '2.5', '--no-post', '--reps', '4'], defaults)).to.deep.equal({
      seconds: 2.5,
      warmup: 1,
      reps: 4,
      'no-post': true,
    });
  });

  it('refuses a number that is not positive, and an unknown option with the list of known ones', () => {
    expect(() => parseArgs(['--seconds', '0'], defaults)).to.throw('--seconds needs a positive number');
    expect(() => parseArgs(['--seconds'], defaults)).to.throw('--seconds needs a positive number');
    expect(() => parseArgs(['--fast'], defaults)).to.throw(
      'Unknown option --fast (known: --seconds N, --warmup N, --reps N, --no-post)',
    );
    expect(() => parseArgs(['seconds'], defaults)).to.throw('Unknown option seconds');
  });
});
