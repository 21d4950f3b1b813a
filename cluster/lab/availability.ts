// Whether this machine can build a lab, and if not, why, in a sentence a skipped test can print.
import { ip } from './ip';

/** undefined when a lab can be built here; else the reason it cannot. Builds and removes a throwaway
 *  namespace with a veth pair and a bridge (named `<prefix>-probe`), the same kinds the lab uses. */
export function labUnavailable(prefix: string): string | undefined {
  if (process.platform !== 'linux') return `the lab needs Linux network namespaces; this is ${process.platform}`;
  if (process.getuid?.() !== 0) return 'the lab needs root (ip netns add); this process is not root';
  const probe = `${prefix}-probe`;
  try {
    ip(['netns', 'add', probe]);
    ip(['-n', probe, 'link', 'add', 'probe0', 'type', 'veth', 'peer', 'name', 'probe1']);
    ip(['-n', probe, 'link', 'add', 'probebr', 'type', 'bridge']);
    return undefined;
  } catch (error) {
    return `ip netns is not usable here (${error instanceof Error ? error.message : String(error)})`;
  } finally {
    try {
      ip(['netns', 'del', probe]);
    } catch {
      // Never created.
    }
  }
}
