// The pure parts of the lab: its settings, the names and addresses it derives, the commands it would
// run, and the route check. No namespace is created here.
import { expect } from 'chai';
import { execArgs, healCommand, partitionCommand, upCommands } from '../../cluster/lab/commands';
import { belongsToLab, hostPlan, labPlan } from '../../cluster/lab/names';
import { clashingRoutes } from '../../cluster/lab/routes';
import { DEFAULT_LAB, labSpecFromEnv, specProblems } from '../../cluster/lab/spec';

const plan = labPlan({ prefix: 'khl', subnet: '10.77.0', hosts: 2 });

describe('labSpecFromEnv(env)', function () {
  it('defaults to three hosts named khl on 10.77.0.0/24', function () {
    expect(labSpecFromEnv({})).to.deep.equal(DEFAULT_LAB);
    expect(DEFAULT_LAB).to.deep.equal({ prefix: 'khl', subnet: '10.77.0', hosts: 3 });
  });

  it('reads LAB_PREFIX, LAB_SUBNET and LAB_HOSTS', function () {
    const env = { LAB_PREFIX: 'ci2', LAB_SUBNET: '192.168.40', LAB_HOSTS: '5' };
    expect(labSpecFromEnv(env)).to.deep.equal({ prefix: 'ci2', subnet: '192.168.40', hosts: 5 });
  });

  it('reports every problem at once: a prefix too long for an interface name, a public subnet, a host count', function () {
    expect(specProblems({ prefix: 'toolongname', subnet: '8.8.8', hosts: 0 })).to.deep.equal([
      'The lab prefix must be a lower-case letter and at most 7 more letters or digits, got "toolongname".',
      'The lab subnet must be private (10/8, 172.16/12 or 192.168/16), got 8.8.8.0/24.',
      'A lab has 1 to 9 hosts, got 0.',
    ]);
    expect(specProblems({ prefix: 'Lab', subnet: '10.300.0', hosts: 3 })).to.have.length(2);
    expect(() => labSpecFromEnv({ LAB_HOSTS: 'three' })).to.throw(
      'Bad lab settings:\n  A lab has 1 to 9 hosts, got NaN.',
    );
  });
});

describe('labPlan(spec)', function () {
  it('names each host h<i> at <subnet>.<i>, its namespace and bridge port <prefix>-h<i>', function () {
    expect(plan.hosts).to.deep.equal([
      { name: 'h1', index: 1, netns: 'khl-h1', port: 'khl-h1', address: '10.77.0.1' },
      { name: 'h2', index: 2, netns: 'khl-h2', port: 'khl-h2', address: '10.77.0.2' },
    ]);
    expect(plan).to.include({
      bridgeNetns: 'khl-net',
      bridge: 'khl-br',
      clientLink: 'khl-c0',
      clientPort: 'khl-c1',
      clientAddress: '10.77.0.254',
      cidr: '10.77.0.0/24',
    });
  });

  it('keeps every interface name within the kernel limit of 15 bytes for the longest prefix', function () {
    const longest = labPlan({ prefix: 'abcdefgh', subnet: '10.0.0', hosts: 9 });
    const names = [longest.bridge, longest.clientLink, longest.clientPort, ...longest.hosts.map((h) => h.port)];
    for (const name of names) expect(name.length, name).to.be.at.most(15);
  });

  it('finds a host by name or namespace, and names the hosts there are when asked for another', function () {
    expect(hostPlan(plan, 'h2').address).to.equal('10.77.0.2');
    expect(hostPlan(plan, 'khl-h1').name).to.equal('h1');
    expect(() => hostPlan(plan, 'h3')).to.throw('No host "h3" in the lab; its hosts are h1, h2.');
  });

  it("counts as the lab's only the names that start with its prefix and a dash", function () {
    expect(belongsToLab('khl', 'khl-h1')).to.equal(true);
    expect(belongsToLab('khl', 'khl-c0')).to.equal(true);
    expect(belongsToLab('khl', 'khlt-h1')).to.equal(false);
    expect(belongsToLab('khl', 'khl')).to.equal(false);
  });
});

describe('upCommands(plan)', function () {
  it('builds the bridge namespace, then each host on the bridge, then the client port, in that order', function () {
    expect(upCommands(plan).map((c) => c.join(' '))).to.deep.equal([
      'netns add khl-net',
      '-n khl-net link set lo up',
      '-n khl-net link add khl-br type bridge stp_state 0',
      '-n khl-net link set khl-br up',
      'netns add khl-h1',
      '-n khl-h1 link set lo up',
      '-n khl-net link add khl-h1 type veth peer name eth0 netns khl-h1',
      '-n khl-net link set khl-h1 master khl-br',
      '-n khl-net link set khl-h1 up',
      '-n khl-h1 addr add 10.77.0.1/24 dev eth0',
      '-n khl-h1 link set eth0 up',
      'netns add khl-h2',
      '-n khl-h2 link set lo up',
      '-n khl-net link add khl-h2 type veth peer name eth0 netns khl-h2',
      '-n khl-net link set khl-h2 master khl-br',
      '-n khl-net link set khl-h2 up',
      '-n khl-h2 addr add 10.77.0.2/24 dev eth0',
      '-n khl-h2 link set eth0 up',
      'link add khl-c0 type veth peer name khl-c1 netns khl-net',
      '-n khl-net link set khl-c1 master khl-br',
      '-n khl-net link set khl-c1 up',
      'addr add 10.77.0.254/24 dev khl-c0',
      'link set khl-c0 up',
    ]);
  });

  it('adds no route beyond the /24: no host command mentions a gateway or a default route', function () {
    const all = upCommands(labPlan(DEFAULT_LAB)).flat();
    expect(all).to.not.include('route');
    expect(all).to.not.include('default');
  });
});

describe('partitionCommand(plan, host) / healCommand(plan, host)', function () {
  it("sets the host's bridge port down and up, inside the bridge namespace", function () {
    const h1 = hostPlan(plan, 'h1');
    expect(partitionCommand(plan, h1)).to.deep.equal(['-n', 'khl-net', 'link', 'set', 'khl-h1', 'down']);
    expect(healCommand(plan, h1)).to.deep.equal(['-n', 'khl-net', 'link', 'set', 'khl-h1', 'up']);
  });

  it('runs a command in a host through ip netns exec', function () {
    expect(execArgs(hostPlan(plan, 'h2'), ['haproxy', '-f', 'x.cfg'])).to.deep.equal([
      'netns',
      'exec',
      'khl-h2',
      'haproxy',
      '-f',
      'x.cfg',
    ]);
  });
});

describe('clashingRoutes(cidr, routes, ownLink)', function () {
  const own = (dev: string) => belongsToLab('khl', dev);

  it('finds a route that covers, lies inside or equals the subnet', function () {
    const routes = [
      { dst: 'default', dev: 'eth0' },
      { dst: '192.0.2.0/24', dev: 'eth0' },
      { dst: '10.0.0.0/8', dev: 'tun0' },
      { dst: '10.77.0.128/25', dev: 'docker0' },
      { dst: '10.77.0.9', dev: 'wg0' },
      { dst: '10.77.1.0/24', dev: 'br1' },
      { dst: 'fe80::/64', dev: 'eth0' },
    ];
    expect(clashingRoutes('10.77.0.0/24', routes, own).map((r) => r.dev)).to.deep.equal(['tun0', 'docker0', 'wg0']);
  });

  it("ignores the default route and the lab's own links", function () {
    const routes = [
      { dst: 'default', dev: 'eth0' },
      { dst: '10.77.0.0/24', dev: 'khl-c0' },
    ];
    expect(clashingRoutes('10.77.0.0/24', routes, own)).to.deep.equal([]);
  });
});
