import { expect } from 'chai';
import { sstDonors } from '../../cluster/database/galera/args';
import { galeraLayout, portsFromBase } from '../../cluster/database/galera/layout';

describe('sstDonors(layout, node): who sends a rejoining node its state', function () {
  it('names the last other node, so the writer (the first node up) donates only when that one cannot', function () {
    const layout = galeraLayout({ stateDir: '/tmp/kh-donors', ports: portsFromBase(3) });
    expect(layout.nodes.map((node) => [node.name, sstDonors(layout, node)])).to.deep.equal([
      ['n1', 'n3,'], ['n2', 'n3,'], ['n3', 'n2,'],
    ]);
  });

  it('ends with a comma: any node may donate when the one named cannot', function () {
    const layout = galeraLayout({ stateDir: '/tmp/kh-donors', ports: portsFromBase(5) });
    expect(layout.nodes.map((node) => sstDonors(layout, node))).to.deep.equal(['n5,', 'n5,', 'n5,', 'n5,', 'n4,']);
  });
});
