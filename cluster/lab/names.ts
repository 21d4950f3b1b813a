// The names of everything a lab creates. The bridge and the hosts' bridge ports live in a namespace of
// their own (<prefix>-net), so nothing of the lab is bridged or routed by the machine's own network
// stack; the only link in the root namespace is the client port (<prefix>-c0), which lets a test or a
// user on the machine reach the hosts directly. Inside each host the link is plain eth0.
import type { LabSpec } from './spec';

export interface HostPlan {
  /** h1, h2, ... */
  name: string;
  index: number;
  /** The host's network namespace: run its processes with `ip netns exec <netns> ...`. */
  netns: string;
  /** The host's link on the bridge, in the bridge namespace: down is a partition. */
  port: string;
  address: string;
}

export interface LabPlan {
  spec: LabSpec;
  /** The namespace holding the bridge. */
  bridgeNetns: string;
  bridge: string;
  /** The client port: its root-namespace end carries clientAddress; its other end is on the bridge. */
  clientLink: string;
  clientPort: string;
  clientAddress: string;
  /** "a.b.c.0/24" */
  cidr: string;
  hosts: HostPlan[];
}

export const HOST_LINK = 'eth0';
export const CLIENT_HOST_OCTET = 254;

export function labPlan(spec: LabSpec): LabPlan {
  const p = spec.prefix;
  return {
    spec,
    bridgeNetns: `${p}-net`,
    bridge: `${p}-br`,
    clientLink: `${p}-c0`,
    clientPort: `${p}-c1`,
    clientAddress: `${spec.subnet}.${CLIENT_HOST_OCTET}`,
    cidr: `${spec.subnet}.0/24`,
    hosts: Array.from({ length: spec.hosts }, (_, i) => ({
      name: `h${i + 1}`,
      index: i + 1,
      netns: `${p}-h${i + 1}`,
      port: `${p}-h${i + 1}`,
      address: `${spec.subnet}.${i + 1}`,
    })),
  };
}

/** True for a namespace or link name this prefix's lab may have created (what the sweep removes). */
export function belongsToLab(prefix: string, name: string): boolean {
  return name.startsWith(`${prefix}-`);
}

export function hostPlan(plan: LabPlan, host: string): HostPlan {
  const found = plan.hosts.find((h) => h.name === host || h.netns === host);
  if (!found)
    throw new Error(`No host "${host}" in the lab; its hosts are ${plan.hosts.map((h) => h.name).join(', ')}.`);
  return found;
}
