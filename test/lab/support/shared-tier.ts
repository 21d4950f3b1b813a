// The one lab tier the tier test files share (test/lab/tier.test.ts, then tier.under-faults.test.ts,
// tier.whole-restart.test.ts and tier.with-status.test.ts):
// started on first use, by whichever file needs it first, and stopped once after every test file ran
// (test/support/root-hooks.ts). Starting three hosts takes about a minute; once per mocha run is enough.
//
// Order: tier.test.ts checks the tier as `npm start` left it (n1 the writer, every host up) and the
// faults move the writer and kill a host, so the checks go first. Mocha loads the files of a glob sorted
// by name (tier.test.ts < tier.under-faults.test.ts); files given one by one run in the order given, so
// a fault test that ran first makes the checks fail at once, saying why, rather than on a moved writer.
import { labUnavailable } from '../../../cluster/lab/availability';
import type { LabSpec } from '../../../cluster/lab/spec';
import { sweepLab } from '../../../cluster/lab/sweep';
import { testLabSpec } from './test-spec';
import { LabTier } from './tier';

// Its own prefix and /24, apart from a user's lab (khl) and the other lab tests' (khlt, khlw).
export const SHARED_TIER_SPEC: LabSpec = testLabSpec('m', 3);

let tier: LabTier | undefined;
let started: Promise<LabTier> | undefined;
let faulted = false;

/** Whatever a run that never reached the root after-hook left: synchronous, so it runs on 'exit'. */
function sweepOnExit(): void {
  try {
    sweepLab(SHARED_TIER_SPEC.prefix, 0);
  } catch (error) {
    console.error(`The shared lab tier could not be swept: ${(error as Error).message}`);
  }
}

/** Why the shared tier cannot be built on this machine (a sentence to print when skipping), if so. */
export function sharedTierUnavailable(): string | undefined {
  return labUnavailable(SHARED_TIER_SPEC.prefix);
}

function sharedTier(): Promise<LabTier> {
  started ??= (async () => {
    process.once('exit', sweepOnExit);
    tier = LabTier.prepare(SHARED_TIER_SPEC);
    await tier.startAll();
    return tier;
  })();
  return started;
}

/** The shared tier as its start left it; throws if a fault test had it first (see the order above). */
export function sharedTierUnfaulted(): Promise<LabTier> {
  if (faulted) {
    throw new Error(
      'The fault tests ran on the shared lab tier before its checks of a freshly started tier: give ' +
        'test/lab/tier.test.ts before test/lab/tier.under-faults.test.ts.',
    );
  }
  return sharedTier();
}

/** The shared tier, for tests that break it (partitions, kills); sharedTierUnfaulted() refuses it after. */
export function sharedTierToFault(): Promise<LabTier> {
  faulted = true;
  return sharedTier();
}

/** Stops the shared tier if one was started (or started half-way), once after all tests. */
export async function stopSharedTier(): Promise<void> {
  if (!started) return;
  await started.catch(() => undefined);
  LabTier.teardown(tier, SHARED_TIER_SPEC);
  process.removeListener('exit', sweepOnExit);
  tier = undefined;
  started = undefined;
  faulted = false;
}

/**
 * A lab test file's `before`: skips the file, saying why, where namespaces cannot be made; otherwise the
 * shared tier, fresh (`check`: tier.test.ts) or to break (`fault`: the files that run after it).
 */
export async function sharedTierOrSkip(context: Mocha.Context, use: 'check' | 'fault'): Promise<LabTier> {
  const why = sharedTierUnavailable();
  if (why) {
    console.log(`      skipped: ${why}`);
    context.skip();
  }
  return use === 'check' ? sharedTierUnfaulted() : sharedTierToFault();
}
