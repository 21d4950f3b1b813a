// GALERA_*_PORT bases for a test or benchmark cluster: every port they derive (layout.ts portsFromBase:
// group, IST and SST 10 apart per node) is free right now, and all lie below the kernel's ephemeral
// range, where freePort() picks the stack's other ports, so the node runners can rebuild the same layout.
import { portIsFree } from '../../free-port';
import { portsFromBase, type GaleraPorts } from './layout';

export async function freeGaleraBasePorts(nodes = 3): Promise<GaleraPorts> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const b = 20_000 + Math.floor(Math.random() * 12_000);
    const base = { client: b, agent: b + 5, group: b + 10, ist: b + 11, sst: b + 12 };
    const ports = portsFromBase(nodes, base).flatMap((node) => Object.values(node));
    if ((await Promise.all(ports.map((port) => portIsFree(port)))).every(Boolean)) return base;
  }
  throw new Error('No free range of Galera ports found.');
}
