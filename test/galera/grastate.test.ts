import { expect } from 'chai';
import {
  formatPosition,
  markSafeToBootstrap,
  parseGrastate,
  parseRecoveredPosition,
} from '../../cluster/database/galera/grastate';

const GRASTATE = `# GALERA saved state
version: 2.1
uuid:    5b7da98a-e9f2-11f1-acb2-e6b84ded841a
seqno:   -1
safe_to_bootstrap: 0
`;

describe('grastate.dat and --wsrep-recover output', function () {
  it('parses uuid, seqno and safe_to_bootstrap', function () {
    expect(parseGrastate(GRASTATE)).to.deep.equal({
      uuid: '5b7da98a-e9f2-11f1-acb2-e6b84ded841a',
      seqno: -1,
      safeToBootstrap: false,
    });
    expect(
      parseGrastate(GRASTATE.replace('seqno:   -1', 'seqno:   1234').replace('bootstrap: 0', 'bootstrap: 1')),
    ).to.deep.equal({
      uuid: '5b7da98a-e9f2-11f1-acb2-e6b84ded841a',
      seqno: 1234,
      safeToBootstrap: true,
    });
  });

  it('treats a file without safe_to_bootstrap (Galera before 3.19) as safe, and rejects one without uuid or seqno', function () {
    expect(parseGrastate(GRASTATE.replace(/safe_to_bootstrap.*\n/, '')).safeToBootstrap).to.equal(true);
    expect(() => parseGrastate('')).to.throw('grastate.dat has no valid uuid line');
    expect(() => parseGrastate(GRASTATE.replace(/seqno.*\n/, ''))).to.throw('grastate.dat has no valid seqno line');
  });

  it('marks the file safe to bootstrap, changing that line only (adding it when absent)', function () {
    expect(markSafeToBootstrap(GRASTATE)).to.equal(GRASTATE.replace('safe_to_bootstrap: 0', 'safe_to_bootstrap: 1'));
    expect(markSafeToBootstrap('uuid: x\nseqno: 3')).to.equal('uuid: x\nseqno: 3\nsafe_to_bootstrap: 1\n');
  });

  it('reads the last "Recovered position" line of a --wsrep-recover log', function () {
    const log = [
      '2026-11-26 23:43:36 0 [Note] InnoDB: Starting crash recovery from checkpoint LSN=47301',
      '2026-11-26 23:43:37 0 [Note] WSREP: Recovered position: 2739b1c6-e9f3-11f1-9fdb-fe0e56482d34:3',
      '',
    ].join('\n');
    const position = parseRecoveredPosition(log);
    expect(position).to.deep.equal({ uuid: '2739b1c6-e9f3-11f1-9fdb-fe0e56482d34', seqno: 3 });
    expect(formatPosition(position as { uuid: string; seqno: number })).to.equal(
      '2739b1c6-e9f3-11f1-9fdb-fe0e56482d34:3',
    );
    expect(parseRecoveredPosition('[ERROR] Aborting')).to.equal(undefined);
    expect(parseRecoveredPosition('WSREP: Recovered position: 00000000-0000-0000-0000-000000000000:-1')).to.deep.equal({
      uuid: '00000000-0000-0000-0000-000000000000',
      seqno: -1,
    });
  });
});
