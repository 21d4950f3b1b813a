// Mocha root hooks (loaded by .mocharc.json): stop the shared stack once after every test file ran.
import { stopSharedStack } from './stack';

export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    await stopSharedStack();
  },
};
