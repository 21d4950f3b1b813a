// Mocha root hooks (loaded by .mocharc.json): build dist/ once before the first test (the tests start
// pm2 apps, which run the build: cluster/build/build.ts), and stop the shared stack and the shared lab
// tier (test/lab/support/shared-tier.ts) once after every test file ran; name every test that passed
// only on a retry (./retried-tests.ts).
import { ensureBuild } from '../../cluster/build/build';
import { stopSharedTier } from '../lab/support/shared-tier';
import { recordTry, retriedReport } from './retried-tests';
import { stopSharedStack } from './stack';

export const mochaHooks = {
  beforeAll(this: Mocha.Context) {
    this.timeout(180_000);
    ensureBuild({ mustBeFresh: true });
  },
  afterEach(this: Mocha.Context) {
    recordTry(this.currentTest);
  },
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    await stopSharedStack();
    await stopSharedTier();
    const report = retriedReport();
    if (report) console.log(`\n${report}`);
  },
};
