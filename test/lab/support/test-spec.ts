// Each lab test file's own namespaces and /24, so the files never meet each other's lab or a user's
// (prefix khl, 10.77.0). LAB_TEST_ID (0-9, default 0) moves every file's labs to prefixes and subnets
// of their own, so two test runs on one machine (two checkouts, or CI beside a developer) never sweep
// or route each other's hosts.
import type { LabSpec } from '../../../cluster/lab/spec';

export function testLabSpec(letter: string, thirdOctet: number, env: NodeJS.ProcessEnv = process.env): LabSpec {
  const raw = env.LAB_TEST_ID ?? '0';
  if (!/^[0-9]$/.test(raw)) throw new Error(`LAB_TEST_ID must be one digit (0-9), not ${JSON.stringify(raw)}.`);
  const id = Number(raw);
  return {
    prefix: id === 0 ? `khl${letter}` : `khl${letter}${id}`,
    subnet: `10.${77 + id}.${thirdOctet}`,
    hosts: 3,
  };
}
