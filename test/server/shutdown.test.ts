// Stopping a worker (pm2 sends SIGINT; systemd or a user SIGTERM): it stops accepting, lets the request in
// flight finish, closes its pool and exits 0.
import { expect } from 'chai';
import { request } from '../support/http';
import { sharedStack } from '../support/stack';

describe('a worker asked to stop', function () {
  this.timeout(30_000);

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`on ${signal} finishes the request in flight, then exits 0 at once`, async () => {
      const stack = await sharedStack();
      const worker = await stack.addWorker();
      const inFlight = request(`${worker.url}/sleep/1`);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const exited = new Promise<number | null>((resolve) => worker.child.once('exit', (code) => resolve(code)));
      worker.child.kill(signal);
      await new Promise((resolve) => setTimeout(resolve, 100));
      // No new connections are accepted while it drains.
      const refused = await request(`${worker.url}/healthz`).then(
        () => 'answered',
        (error: Error) => error.message,
      );
      expect(refused).to.equal('fetch failed');

      const reply = await inFlight;
      const answered = performance.now();
      expect(reply.status).to.equal(200);
      expect(reply.body).to.deep.equal({ slept: 1 });
      expect(await exited).to.equal(0);
      // Not held up by the finished request's idle keep-alive connection (5 s keepAliveTimeout).
      expect(performance.now() - answered).to.be.below(1_500);
      expect(worker.output()).to.contain('"msg":"shutting down"');
    });
  }
});
