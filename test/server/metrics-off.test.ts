// METRICS=0 (createApp without a registry): the worker answers as usual, records nothing, and has no
// /metrics route. No database needed: GET / and GET /metrics never touch it.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { Registry } from 'prom-client';
import { createApp } from '../../server/app';
import type { Db } from '../../server/db/db';

async function withApp(registry: Registry | undefined, run: (url: string) => Promise<void>): Promise<void> {
  const app = createApp({ db: {} as Db, registry, log: () => undefined, sleepMaxSeconds: 1, bodyLimitBytes: 1024 });
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('createApp without a registry (METRICS=0)', () => {
  it('answers GET / and 404 on /metrics', async () => {
    await withApp(undefined, async (url) => {
      expect((await fetch(`${url}/`)).status).to.equal(200);
      const metrics = await fetch(`${url}/metrics`);
      expect(metrics.status).to.equal(404);
      expect(((await metrics.json()) as { error: string }).error).to.equal('not_found');
    });
  });

  it('with a registry, records the same request (the switch is the only difference)', async () => {
    const registry = new Registry();
    await withApp(registry, async (url) => {
      expect((await fetch(`${url}/`)).status).to.equal(200);
      const text = await (await fetch(`${url}/metrics`)).text();
      expect(text).to.match(/^http_requests_total\{method="GET",route="\/",status="200"\} 1$/m);
    });
  });
});
