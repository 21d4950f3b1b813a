// One host's proxy as status reads it over the network (cluster/hosts/proxy-view.ts): the writer from its
// /writer page mapped to a name through its own stats CSV, and the verdict over every proxy.
import { expect } from 'chai';
import {
  disagree,
  proxyViewOf,
  unreachableProxy,
  verdictLine,
  writerVerdict,
  type ProxyView,
} from '../../cluster/hosts/proxy-view';

const CSV = [
  '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid',
  'mysql,n1,0,0,0,1,10,4,0,0,,0,,0,0,0,0,DOWN,1,1,0,3,1,5,5,,1,5,1',
  'mysql,n2,0,0,2,2,10,9,0,0,,0,,0,0,0,0,UP,1,0,1,0,0,40,0,,1,5,2',
  'mysql,n3,0,0,0,0,10,0,0,0,,0,,0,0,0,0,UP,1,0,1,0,0,40,0,,1,5,3',
  'mysql,BACKEND,0,0,2,2,20,13,0,0,0,0,,0,0,0,0,UP,1,1,2,,1,40,5,,1,5,0',
  'workers,kh-h1-worker-8000,0,0,0,1,,3,0,0,,0,,0,0,0,0,UP,1,1,0,0,0,40,0,,1,3,1',
  '',
].join('\n');

const view = (host: string, writer: string | undefined, nodes: Record<string, string> = { n1: 'UP', n2: 'UP' }) =>
  ({ host, address: `10.0.0.${host.slice(1)}`, reachable: true, nodes, ...(writer ? { writer } : {}) }) as ProxyView;

describe('proxyViewOf(host, address, writerBody, statsCsv)', function () {
  it("names the writer by the id in /writer, through the writer backend's own sid column", function () {
    expect(proxyViewOf('h2', '10.0.0.2', '{"writerServerId":2}', CSV)).to.deep.equal({
      host: 'h2',
      address: '10.0.0.2',
      reachable: true,
      writer: 'n2',
      nodes: { n1: 'DOWN', n2: 'UP', n3: 'UP' },
    });
  });

  it('leaves the writer out when the table is empty (id 0)', function () {
    expect(proxyViewOf('h2', '10.0.0.2', '{"writerServerId":0}', CSV)).to.not.have.property('writer');
  });

  it('says what it could not read: a /writer page that is not the JSON, a stats page that is not CSV', function () {
    expect(proxyViewOf('h1', '10.0.0.1', '<html>', CSV)).to.deep.include({
      reachable: true,
      reason: 'its /writer page said "<html>"',
    });
    expect(proxyViewOf('h1', '10.0.0.1', '{"writerServerId":1}', 'not csv')).to.deep.equal(
      unreachableProxy('h1', '10.0.0.1', 'its stats page is not HAProxy CSV'),
    );
  });
});

describe('writerVerdict(views) and verdictLine(verdict)', function () {
  it('agrees when every proxy that answers names the same writer, listing the unreachable ones', function () {
    const verdict = writerVerdict([view('h1', 'n2'), view('h2', 'n2'), unreachableProxy('h3', '10.0.0.3', 'timeout')]);
    expect(verdict).to.deep.equal({
      writer: 'n2',
      byWriter: { n2: ['h1', 'h2'] },
      unreachable: ['h3'],
      noWriter: [],
      writerNotUp: [],
    });
    expect(disagree(verdict)).to.equal(false);
    expect(verdictLine(verdict)).to.equal("Every proxy that answers writes to n2. Unreachable: h3's proxy.");
  });

  it('flags two proxies naming different writers, with the hosts behind each', function () {
    const verdict = writerVerdict([view('h1', 'n1'), view('h2', 'n2'), view('h3', 'n2')]);
    expect(disagree(verdict)).to.equal(true);
    expect(verdict.writer).to.equal(undefined);
    expect(verdictLine(verdict)).to.equal('DISAGREEMENT: the proxies write to different nodes: n1 (h1), n2 (h2, h3).');
  });

  it("says when a table is empty, and when a named writer is not UP in that proxy's own checks", function () {
    const verdict = writerVerdict([
      view('h1', 'n1', { n1: 'DOWN', n2: 'UP' }),
      view('h2', undefined),
      view('h3', 'n1'),
    ]);
    expect(verdict).to.deep.include({ writer: 'n1', noWriter: ['h2'], writerNotUp: ['h1'] });
    expect(verdictLine(verdict)).to.equal(
      "Every proxy that answers writes to n1. No writer yet in h2's proxy (an empty table, filled by the next connection or a peer). " +
        "The writer named by h1's proxy is not UP in its own checks: its next connection goes to another node.",
    );
  });

  it('says so when no proxy names a writer', function () {
    const verdict = writerVerdict([unreachableProxy('h1', 'a', 'x'), unreachableProxy('h2', 'b', 'y')]);
    expect(verdictLine(verdict)).to.equal('No proxy names a writer. Unreachable: the proxies of h1 and h2.');
  });
});
