import { expect } from 'chai';
import { galeraMariadbdArgs, sstDonors } from '../../cluster/database/galera/args';
import { preferredDonor } from '../../cluster/database/galera/coordinate';
import { galeraLayout, portsFromBase, type GaleraNode } from '../../cluster/database/galera/layout';

describe('sstDonors(layout, node): who sends a rejoining node its state', function () {
  it('names the last other node, so the writer (the first node up) donates only when that one cannot', function () {
    const layout = galeraLayout({ stateDir: '/tmp/kh-donors', ports: portsFromBase(3) });
    expect(layout.nodes.map((node) => [node.name, sstDonors(layout, node)])).to.deep.equal([
      ['n1', 'n3,'],
      ['n2', 'n3,'],
      ['n3', 'n2,'],
    ]);
  });

  it('ends with a comma: any node may donate when the one named cannot', function () {
    const layout = galeraLayout({ stateDir: '/tmp/kh-donors', ports: portsFromBase(5) });
    expect(layout.nodes.map((node) => sstDonors(layout, node))).to.deep.equal(['n5,', 'n5,', 'n5,', 'n5,', 'n4,']);
  });
});

describe('preferredDonor(layout, self, running, writer): the donor of this start', function () {
  const layout = galeraLayout({ stateDir: '/tmp/kh-donors', ports: portsFromBase(3) });
  const [n1, n2, n3] = layout.nodes as [GaleraNode, GaleraNode, GaleraNode];

  it('is a running node HAProxy does not write to, whichever node writes', function () {
    expect(preferredDonor(layout, n1, ['n2', 'n3'], 'n2')).to.equal('n3');
    expect(preferredDonor(layout, n1, ['n2', 'n3'], 'n3')).to.equal('n2');
    expect(preferredDonor(layout, n3, ['n1', 'n2'], 'n1')).to.equal('n2');
    expect(preferredDonor(layout, n2, ['n1', 'n3'], 'n3')).to.equal('n1');
  });

  it('is undefined when the only running node is the writer (the static preference applies)', function () {
    expect(preferredDonor(layout, n1, ['n2'], 'n2')).to.equal(undefined);
  });

  it('is the last running node when HAProxy does not say which one writes', function () {
    expect(preferredDonor(layout, n2, ['n1', 'n3'], undefined)).to.equal('n3');
  });
});

describe('galeraMariadbdArgs(layout, node, { sstDonor })', function () {
  it('names the donor chosen for this start after the static preference (mariadbd keeps the last)', function () {
    const layout = galeraLayout({ stateDir: '/tmp/kh-donors', ports: portsFromBase(3) });
    const args = galeraMariadbdArgs(
      layout,
      layout.nodes[0]!,
      { kind: 'join', sstDonor: 'n2' },
      '/usr/lib/galera/libgalera_smm.so',
    );
    expect(args.filter((arg) => arg.startsWith('--wsrep-sst-donor='))).to.deep.equal([
      '--wsrep-sst-donor=n3,',
      '--wsrep-sst-donor=n2,',
    ]);
  });
});
