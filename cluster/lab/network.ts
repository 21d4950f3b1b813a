// A lab: hosts as network namespaces on one bridge, built from a spec, cut off and healed one at a time,
// and swept away by its prefix. Lab.up() sweeps a stale lab of the same prefix first, so a crashed run
// never blocks the next one.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { execArgs, healCommand, partitionCommand, upCommands } from './commands';
import { IP, ip, ipJson, links, namespacePids, namespaces } from './ip';
import { belongsToLab, hostPlan, labPlan, type HostPlan, type LabPlan } from './names';
import { endNamespaceProcesses } from './processes';
import { clashingRoutes, type Route } from './routes';
import { specProblems, type LabSpec } from './spec';
import { sweepLab, type SweepReport } from './sweep';

export interface HostStatus {
  name: string;
  netns: string;
  address: string;
  /** False while the host is partitioned (its bridge port down). */
  connected: boolean;
  pids: number[];
}

export interface LabStatus {
  /** False when the lab's namespaces are not all there. */
  up: boolean;
  clientAddress: string;
  hosts: HostStatus[];
}

export class Lab {
  readonly plan: LabPlan;

  private constructor(plan: LabPlan) {
    this.plan = plan;
  }

  /** The lab of this spec, whether or not it is up: for status, partition and teardown from another
   *  process than the one that built it. */
  static of(spec: LabSpec): Lab {
    const problems = specProblems(spec);
    if (problems.length > 0) throw new Error(`Bad lab settings:\n  ${problems.join('\n  ')}`);
    return new Lab(labPlan(spec));
  }

  /** Sweeps whatever a previous lab of this prefix left, checks that the subnet is free on this
   *  machine, and builds the lab. A failure half-way sweeps what was built before it throws. */
  static up(spec: LabSpec): Lab {
    const lab = Lab.of(spec);
    sweepLab(spec.prefix);
    const routes = ipJson<Route>(['route', 'show', 'table', 'all']);
    const clashes = clashingRoutes(lab.plan.cidr, routes, (dev) => belongsToLab(spec.prefix, dev));
    if (clashes.length > 0) {
      const list = clashes.map((r) => `${r.dst}${r.dev ? ` dev ${r.dev}` : ''}`).join(', ');
      throw new Error(`The lab subnet ${lab.plan.cidr} overlaps this machine's routes (${list}); set LAB_SUBNET.`);
    }
    try {
      for (const command of upCommands(lab.plan)) ip(command);
    } catch (error) {
      sweepLab(spec.prefix);
      throw error;
    }
    return lab;
  }

  get hosts(): HostPlan[] {
    return this.plan.hosts;
  }

  host(name: string): HostPlan {
    return hostPlan(this.plan, name);
  }

  partition(host: string): void {
    ip(partitionCommand(this.plan, this.host(host)));
  }

  heal(host: string): void {
    ip(healCommand(this.plan, this.host(host)));
  }

  /** SIGKILLs every process of the host at once, as a power cut would; returns their pids. The host's
   *  network stays as it was, so the same host can be started again. */
  kill(host: string): number[] {
    return endNamespaceProcesses([this.host(host).netns], 0);
  }

  /** Starts `command` inside the host (`ip netns exec`). The child is the command itself: ip execs it
   *  once it has entered the namespace. */
  spawn(host: string, command: string[], options: SpawnOptions = {}): ChildProcess {
    return spawn(IP, execArgs(this.host(host), command), options);
  }

  status(): LabStatus {
    const present = new Set(namespaces());
    const up = [this.plan.bridgeNetns, ...this.plan.hosts.map((h) => h.netns)].every((n) => present.has(n));
    const ports = present.has(this.plan.bridgeNetns) ? links(this.plan.bridgeNetns) : [];
    return {
      up,
      clientAddress: this.plan.clientAddress,
      hosts: this.plan.hosts.map((host) => ({
        name: host.name,
        netns: host.netns,
        address: host.address,
        connected: ports.some((link) => link.ifname === host.port && (link.flags ?? []).includes('UP')),
        pids: present.has(host.netns) ? namespacePids(host.netns) : [],
      })),
    };
  }

  /** Ends every process in the lab and removes all of it (see sweepLab). */
  teardown(graceMs?: number): SweepReport {
    return sweepLab(this.plan.spec.prefix, graceMs);
  }
}
