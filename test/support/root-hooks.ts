// Mocha root hooks (loaded by .mocharc.json): build dist/ once before the first test (the tests start
// pm2 apps, which run the build: cluster/build/build.ts), and stop the shared stack once after every
// test file ran.
import { ensureBuild } from '../../cluster/build/build';
import { stopSharedStack } from './stack';

export const mochaHooks = {
  beforeAll(this: Mocha.Context) {
    this.timeout(180_000);
    ensureBuild({ mustBeFresh: true });
  },
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    await stopSharedStack();
  },
};
