// Front doors over every host's workers (issue 19, item 3): with STACK_HOSTS each host's front door lists
// the workers of all hosts (its own over loopback, the others at their addresses), the workers listen on
// every address and the front door also on its host's address; one machine's rendering is unchanged.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { buildApps } from '../../cluster/ecosystem';
import { renderWorkerBackend } from '../../cluster/haproxy/config-files';
import { haproxyEnv } from '../../cluster/haproxy/env';
import { loadStackSettings } from '../../cluster/settings';

const HOSTS = [
  { name: 'h1', address: '10.77.9.1' },
  { name: 'h2', address: '10.77.9.2' },
  { name: 'h3', address: '10.77.9.3' },
];

describe('front doors over every host (STACK_HOSTS)', function () {
  let dir: string;
  let file: string;
  const settingsOf = (host: string) =>
    loadStackSettings({ STACK_DIR: path.join(dir, host), STACK_HOSTS: file, STACK_HOST: host });

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kh-front-doors-'));
    file = path.join(dir, 'hosts.json');
    fs.writeFileSync(file, JSON.stringify({ hosts: HOSTS }));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("h2's front door lists every host's workers, its own over loopback, in both backends", function () {
    const text = renderWorkerBackend(settingsOf('h2'));
    const servers = [
      '    server kh-h1-worker-8000 10.77.9.1:8000 check',
      '    server kh-h1-worker-8001 10.77.9.1:8001 check',
      '    server kh-h2-worker-8000 127.0.0.1:8000 check',
      '    server kh-h2-worker-8001 127.0.0.1:8001 check',
      '    server kh-h3-worker-8000 10.77.9.3:8000 check',
      '    server kh-h3-worker-8001 10.77.9.3:8001 check',
    ];
    // TCP keepalive towards the workers: a request in flight on a cut-off host ends in ~3-4 s.
    const liveness = ['    option srvtcpka', '    srvtcpka-idle 1s', '    srvtcpka-intvl 1s', '    srvtcpka-cnt 3'];
    expect(text.split('\n').filter((line) => /^(backend|\s+(server|option|srvtcpka))/.test(line))).to.deep.equal([
      'backend workers from front-door',
      ...liveness,
      ...servers,
      'backend workers-alive from front-door',
      '    option httpchk GET /healthz',
      ...liveness,
      ...servers,
    ]);
  });

  it('the workers listen on every address and the front door also on its host address', function () {
    const settings = settingsOf('h3');
    const workers = buildApps(settings, {}).filter((app) => app.name.includes('-worker-'));
    expect(workers.map((app) => app.env?.WORKER_HOST)).to.deep.equal(['0.0.0.0', '0.0.0.0']);
    expect(haproxyEnv(settings).HAPROXY_HTTP_BIND).to.equal('127.0.0.1:8080,10.77.9.3:8080');
    // The MySQL listener stays on loopback: only this host's workers use it.
    expect(haproxyEnv(settings).HAPROXY_BIND).to.equal('127.0.0.1:5555');
  });

  it('one machine: loopback workers and front door, only its own workers', function () {
    const settings = loadStackSettings({ STACK_DIR: dir });
    expect(renderWorkerBackend(settings)).to.include('    server kh-worker-8000 127.0.0.1:8000 check\n');
    expect(renderWorkerBackend(settings).match(/^ {4}server /gm)).to.have.length(4);
    // No keepalive change on one machine: its workers are on loopback.
    expect(renderWorkerBackend(settings)).to.not.match(/srvtcpka/);
    expect(haproxyEnv(settings).HAPROXY_HTTP_BIND).to.equal('127.0.0.1:8080');
    expect(buildApps(settings, {}).find((app) => app.name === 'kh-worker-8000')?.env?.WORKER_HOST).to.equal(
      '127.0.0.1',
    );
  });
});
