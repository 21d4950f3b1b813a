// What a lab is: a name prefix, a private /24 and a number of hosts. Every name and address the lab
// uses is derived from these three, so the sweep can find everything by the prefix alone.

export interface LabSpec {
  /** Starts every namespace and link the lab creates; a short lower-case word (interface names are
   *  limited to 15 bytes). */
  prefix: string;
  /** The first three octets of the private /24 the hosts live on, e.g. "10.77.0". */
  subnet: string;
  hosts: number;
}

export const DEFAULT_LAB: LabSpec = { prefix: 'khl', subnet: '10.77.0', hosts: 3 };

const PREFIX = /^[a-z][a-z0-9]{0,7}$/;
const PRIVATE = [/^10\./, /^192\.168\./, /^172\.(1[6-9]|2\d|3[01])\./];

/** Every problem with the spec, as whole sentences; empty when it is usable. */
export function specProblems(spec: LabSpec): string[] {
  const problems: string[] = [];
  if (!PREFIX.test(spec.prefix)) {
    problems.push(
      `The lab prefix must be a lower-case letter and at most 7 more letters or digits, got "${spec.prefix}".`,
    );
  }
  const octets = spec.subnet.split('.');
  const valid = octets.length === 3 && octets.every((o) => /^\d{1,3}$/.test(o) && Number(o) <= 255);
  if (!valid) problems.push(`The lab subnet must be three octets such as 10.77.0, got "${spec.subnet}".`);
  else if (!PRIVATE.some((range) => range.test(`${spec.subnet}.`))) {
    problems.push(`The lab subnet must be private (10/8, 172.16/12 or 192.168/16), got ${spec.subnet}.0/24.`);
  }
  if (!Number.isInteger(spec.hosts) || spec.hosts < 1 || spec.hosts > 9) {
    problems.push(`A lab has 1 to 9 hosts, got ${spec.hosts}.`);
  }
  return problems;
}

/** The spec from LAB_PREFIX, LAB_SUBNET and LAB_HOSTS, each defaulting to DEFAULT_LAB; throws listing
 *  every problem at once. */
export function labSpecFromEnv(env: NodeJS.ProcessEnv): LabSpec {
  const spec: LabSpec = {
    prefix: env.LAB_PREFIX || DEFAULT_LAB.prefix,
    subnet: env.LAB_SUBNET || DEFAULT_LAB.subnet,
    hosts: env.LAB_HOSTS ? Number(env.LAB_HOSTS) : DEFAULT_LAB.hosts,
  };
  const problems = specProblems(spec);
  if (problems.length > 0) throw new Error(`Bad lab settings:\n  ${problems.join('\n  ')}`);
  return spec;
}
