// The `ip` commands that build a lab and cut its hosts off, as argument lists: pure, so a unit test
// can read exactly what a lab run would do to the machine.
import { CLIENT_HOST_OCTET, HOST_LINK, type HostPlan, type LabPlan } from './names';

export type IpCommand = string[];

/** In order: the bridge namespace and its bridge, then each host (namespace, loopback, veth pair with
 *  one end on the bridge, address), then the client port. No host gets a default route, so nothing a
 *  host sends can leave the lab's /24. */
export function upCommands(plan: LabPlan): IpCommand[] {
  const net = plan.bridgeNetns;
  const commands: IpCommand[] = [
    ['netns', 'add', net],
    ['-n', net, 'link', 'set', 'lo', 'up'],
    // STP off (the default) so a port forwards as soon as it is up: a healed host answers at once.
    ['-n', net, 'link', 'add', plan.bridge, 'type', 'bridge', 'stp_state', '0'],
    ['-n', net, 'link', 'set', plan.bridge, 'up'],
  ];
  for (const host of plan.hosts) {
    commands.push(
      ['netns', 'add', host.netns],
      ['-n', host.netns, 'link', 'set', 'lo', 'up'],
      ['-n', net, 'link', 'add', host.port, 'type', 'veth', 'peer', 'name', HOST_LINK, 'netns', host.netns],
      ['-n', net, 'link', 'set', host.port, 'master', plan.bridge],
      ['-n', net, 'link', 'set', host.port, 'up'],
      ['-n', host.netns, 'addr', 'add', `${host.address}/24`, 'dev', HOST_LINK],
      ['-n', host.netns, 'link', 'set', HOST_LINK, 'up'],
    );
  }
  commands.push(
    ['link', 'add', plan.clientLink, 'type', 'veth', 'peer', 'name', plan.clientPort, 'netns', net],
    ['-n', net, 'link', 'set', plan.clientPort, 'master', plan.bridge],
    ['-n', net, 'link', 'set', plan.clientPort, 'up'],
    ['addr', 'add', `${plan.spec.subnet}.${CLIENT_HOST_OCTET}/24`, 'dev', plan.clientLink],
    ['link', 'set', plan.clientLink, 'up'],
  );
  return commands;
}

/** Takes the host's bridge port down: the host keeps its address, but nothing reaches it or leaves it,
 *  exactly as when its cable is pulled. Its processes cannot undo it (the port is not in their
 *  namespace). */
export function partitionCommand(plan: LabPlan, host: HostPlan): IpCommand {
  return ['-n', plan.bridgeNetns, 'link', 'set', host.port, 'down'];
}

export function healCommand(plan: LabPlan, host: HostPlan): IpCommand {
  return ['-n', plan.bridgeNetns, 'link', 'set', host.port, 'up'];
}

/** The argv that runs `command` inside a host: `ip netns exec <netns> ...`. */
export function execArgs(host: HostPlan, command: string[]): string[] {
  return ['netns', 'exec', host.netns, ...command];
}
