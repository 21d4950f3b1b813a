// Each rendered file is written once per command: `npm start` and `npm run reload` prepare the state
// folder themselves and tell pm2's loading of ecosystem.config.js (STACK_STATE_PREPARED=1) not to render
// it all again; a bare `pm2 start ecosystem.config.js` still prepares it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { runNode } from '../../cluster/run-node';
import { STATE_DIR_PREPARED_ENV } from '../../cluster/state-dir';

describe('ecosystem.config.js and the state folder', () => {
  let home: string;
  beforeEach(() => (home = fs.mkdtempSync(path.join(os.tmpdir(), 'kh-render-once-'))));
  afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

  const load = (extra: NodeJS.ProcessEnv) =>
    runNode(
      ['-e', 'require("./ecosystem.config.js")'],
      {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        STACK_DIR: path.join(home, 'stack'),
        MONITORING: '1',
        ...extra,
      },
      120_000,
    );

  it("renders HAProxy's files and the monitoring configs when loaded alone", async function () {
    this.timeout(150_000);
    expect((await load({})).code).to.equal(0);
    expect(fs.existsSync(path.join(home, 'stack', 'haproxy', 'workers.cfg'))).to.equal(true);
    expect(fs.existsSync(path.join(home, 'stack', 'prometheus', 'prometheus.yml'))).to.equal(true);
  });

  it('renders nothing when the command running pm2 prepared the folder already', async function () {
    this.timeout(150_000);
    const loaded = await load({ [STATE_DIR_PREPARED_ENV]: '1' });
    expect(loaded.code, loaded.output).to.equal(0);
    expect(fs.existsSync(path.join(home, 'stack', 'haproxy'))).to.equal(false);
    expect(fs.existsSync(path.join(home, 'stack', 'prometheus'))).to.equal(false);
  });
});
