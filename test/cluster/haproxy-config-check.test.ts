// writeHaproxyConfig checks what it rendered with `haproxy -c` (the arguments HAProxy runs with) before
// it replaces the files a running HAProxy reloads or restarts from: a refused set throws with HAProxy's
// own words and leaves the files as they were; a valid one replaces them and leaves no candidate behind.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { haproxyPaths, writeHaproxyConfig } from '../../cluster/haproxy/config-files';
import { loadStackSettings, type StackSettings } from '../../cluster/settings';

describe('writeHaproxyConfig(settings) and haproxy -c', function () {
  let dir: string;
  let settings: StackSettings;
  const files = () => {
    const paths = haproxyPaths(settings);
    return Object.fromEntries(
      fs.readdirSync(paths.dir).map((name) => [name, fs.readFileSync(path.join(paths.dir, name), 'utf8')]),
    );
  };

  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kh-haproxy-check-'));
    settings = loadStackSettings({ STACK_DIR: dir });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('refuses a rendering haproxy -c refuses, saying why, and leaves the running files as they were', function () {
    expect(writeHaproxyConfig(settings)).to.equal(true);
    const before = files();
    // A port no bind or server can have: what a rendering bug would look like to HAProxy.
    const broken = { ...settings, workers: { ...settings.workers, ports: [70000] } };
    expect(() => writeHaproxyConfig(broken)).to.throw(
      /^HAProxy refuses the rendered configuration \(haproxy -c\):\n[\s\S]*'server workers\/kh-worker-70000' : invalid port '70000'[\s\S]*\nThe files HAProxy runs with were left as they were\.$/,
    );
    expect(files()).to.deep.equal(before);
  });

  it('replaces the files with a valid rendering and leaves no candidate file behind', function () {
    writeHaproxyConfig(settings);
    const wider = { ...settings, workers: { ...settings.workers, ports: [...settings.workers.ports, 8009] } };
    expect(writeHaproxyConfig(wider)).to.equal(true);
    expect(Object.keys(files()).sort()).to.deep.equal(['mysql.cfg', 'settings.cfg', 'workers.cfg']);
    expect(files()['workers.cfg']).to.include('    server kh-worker-8009 127.0.0.1:8009 check\n');
    // Unchanged: nothing written, nothing to reload.
    expect(writeHaproxyConfig(wider)).to.equal(false);
  });
});
