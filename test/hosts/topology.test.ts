import { expect } from 'chai';
import {
  findThisHost,
  interfaceAddresses,
  parseTopology,
  resolveTopology,
  type Topology,
} from '../../cluster/hosts/topology';

const THREE = {
  hosts: [
    { name: 'h1', address: '10.77.0.1' },
    { name: 'h2', address: '10.77.0.2' },
    { name: 'h3', address: '10.77.0.3' },
  ],
};

function topology(raw: unknown = THREE): Topology {
  const { topology: parsed, problems } = parseTopology(JSON.stringify(raw));
  expect(problems).to.deep.equal([]);
  return parsed!;
}

describe('parseTopology(text)', function () {
  it('reads the hosts in order, with the peers port defaulting to 10000 and the status port to 10001', function () {
    expect(topology()).to.deep.equal({ ...THREE, peersPort: 10000, statusPort: 10001 });
  });

  it('keeps peersPort and workersPerHost when given', function () {
    expect(topology({ ...THREE, peersPort: 11000, workersPerHost: 2 })).to.include({
      peersPort: 11000,
      workersPerHost: 2,
    });
  });

  it('keeps statusPort when given, and refuses one equal to peersPort', function () {
    expect(topology({ ...THREE, statusPort: 12000 })).to.include({ peersPort: 10000, statusPort: 12000 });
    expect(parseTopology(JSON.stringify({ ...THREE, peersPort: 10001 })).problems).to.deep.equal([
      'statusPort and peersPort must differ, both are 10001.',
    ]);
  });

  it('accepts IPv6 addresses', function () {
    const hosts = THREE.hosts.map((h, i) => ({ ...h, address: `fd00::${i + 1}` }));
    expect(topology({ hosts }).hosts[2]).to.deep.equal({ name: 'h3', address: 'fd00::3' });
  });

  it('reports every problem at once, as whole sentences', function () {
    const { topology: parsed, problems } = parseTopology(
      JSON.stringify({
        hosts: [
          { name: 'H1', address: '10.77.0.1' },
          { name: 'h2', address: '127.0.0.1' },
          { name: 'h2', address: '10.77.0.1', port: 1 },
          { name: 'h4', address: 'db.example' },
        ],
        peersPort: 70000,
        workersPerHost: 0,
        nodes: 3,
      }),
    );
    expect(parsed).to.equal(undefined);
    expect(problems).to.deep.equal([
      'Unknown key "nodes" (known: hosts, peersPort, statusPort, workersPerHost).',
      'hosts[0].name must be a lower-case letter and up to 30 more of a-z 0-9 -, got "H1".',
      'hosts[1].address must be an address the other hosts can reach, not 127.0.0.1.',
      'hosts[2] has an unknown key "port" (known: name, address).',
      'hosts[3].address must be an IPv4 or IPv6 address, got "db.example".',
      '"hosts" must list an odd number of at least 3 hosts (one Galera node each), got 4.',
      'Two hosts have the name h2.',
      'Two hosts have the address 10.77.0.1.',
      'peersPort must be a whole number from 1 to 65535, got 70000.',
      'workersPerHost must be a whole number from 1 to 64, got 0.',
    ]);
  });

  it('refuses fewer than three hosts, text that is not JSON, and a top level that is not an object', function () {
    expect(parseTopology(JSON.stringify({ hosts: THREE.hosts.slice(0, 1) })).problems).to.deep.equal([
      '"hosts" must list an odd number of at least 3 hosts (one Galera node each), got 1.',
    ]);
    expect(parseTopology('{ hosts: [] }').problems[0]).to.match(/^The file is not JSON \(.+\)\.$/);
    expect(parseTopology('[]').problems).to.deep.equal(['The file must hold a JSON object with a "hosts" list.']);
    expect(parseTopology('{}').problems).to.deep.equal(['"hosts" must be a list of { "name", "address" }.']);
  });
});

describe('findThisHost(topology, hints)', function () {
  it('takes STACK_HOST when set, whatever the addresses say', function () {
    expect(findThisHost(topology(), { stackHost: 'h2', localAddresses: ['10.77.0.1'] })).to.deep.equal({
      host: { name: 'h2', address: '10.77.0.2' },
    });
  });

  it('else finds the one host whose address is on a local interface', function () {
    expect(findThisHost(topology(), { localAddresses: ['127.0.0.1', '::1', '10.77.0.3'] }).host?.name).to.equal('h3');
  });

  it('says why when STACK_HOST names no host, no address matches, or several do', function () {
    expect(findThisHost(topology(), { stackHost: 'h9', localAddresses: [] }).problem).to.equal(
      'STACK_HOST must be one of the hosts (h1, h2, h3), got "h9".',
    );
    expect(findThisHost(topology(), { localAddresses: ['127.0.0.1', '192.168.1.5'] }).problem).to.equal(
      "No host's address is on this machine (its addresses: 127.0.0.1, 192.168.1.5); set STACK_HOST to one of h1, h2, h3.",
    );
    expect(findThisHost(topology(), { localAddresses: ['10.77.0.1', '10.77.0.2'] }).problem).to.equal(
      "Several hosts' addresses are on this machine (h1 10.77.0.1, h2 10.77.0.2); set STACK_HOST to say which one this is.",
    );
  });
});

describe('resolveTopology(file, text, hints)', function () {
  it('returns the topology with this host', function () {
    const resolved = resolveTopology('/etc/stack/hosts.json', JSON.stringify(THREE), { localAddresses: ['10.77.0.2'] });
    expect(resolved.thisHost).to.deep.equal({ name: 'h2', address: '10.77.0.2' });
    expect(resolved.hosts).to.have.length(3);
  });

  it("throws one error listing the file's problems, or the host that cannot be found", function () {
    expect(() => resolveTopology('hosts.json', '{"hosts": [], "peersPort": "x"}', { localAddresses: [] })).to.throw(
      'Invalid host topology (STACK_HOSTS=hosts.json):\n' +
        '  - "hosts" must list an odd number of at least 3 hosts (one Galera node each), got 0.\n' +
        '  - peersPort must be a whole number from 1 to 65535, got "x".',
    );
    expect(() =>
      resolveTopology('hosts.json', JSON.stringify(THREE), { stackHost: 'h4', localAddresses: [] }),
    ).to.throw(
      'Invalid host topology (STACK_HOSTS=hosts.json):\n  - STACK_HOST must be one of the hosts (h1, h2, h3), got "h4".',
    );
  });
});

describe('interfaceAddresses(os.networkInterfaces())', function () {
  it('lists every address of every interface', function () {
    expect(
      interfaceAddresses({
        lo: [{ address: '127.0.0.1' }, { address: '::1' }],
        eth0: [{ address: '10.77.0.1' }],
        x: undefined,
      }),
    ).to.deep.equal(['127.0.0.1', '::1', '10.77.0.1']);
  });
});
