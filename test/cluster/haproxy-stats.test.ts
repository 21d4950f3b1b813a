import { expect } from 'chai';
import { parseStatsCsv } from '../../cluster/haproxy/stats';
import { formatUptime } from '../../cluster/stack-status';

describe('parseStatsCsv(csv)', () => {
  it('gives one row per server with its status, sessions and queue, leaving out frontends and backends', () => {
    const csv = [
      '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status',
      'mysql,FRONTEND,,,2,3,200,5,0,0,0,0,0,,,,,OPEN',
      'mysql,mysql1,0,0,2,3,10,5,0,0,,0,,0,0,0,0,UP',
      'workers,kh-worker-8000,1,2,1,4,,9,0,0,,0,,0,0,0,0,DOWN',
      'workers,BACKEND,0,0,1,4,20,9,0,0,0,0,,0,0,0,0,UP',
      '',
    ].join('\n');
    expect(parseStatsCsv(csv)).to.deep.equal([
      { proxy: 'mysql', server: 'mysql1', status: 'UP', sessions: 2, queue: 0 },
      { proxy: 'workers', server: 'kh-worker-8000', status: 'DOWN', sessions: 1, queue: 1 },
    ]);
  });
});

describe('formatUptime(ms)', () => {
  it('shows the two largest units', () => {
    expect([0, 999, 45_000, 192_000, 11_520_000, 3 * 86_400_000 + 3_600_000].map(formatUptime)).to.deep.equal([
      '0s',
      '0s',
      '45s',
      '3m12s',
      '3h12m',
      '3d1h',
    ]);
  });
});
