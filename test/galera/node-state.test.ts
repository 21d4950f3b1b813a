import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { galeraLayout, portsFromBase, type GaleraNode } from '../../cluster/database/galera/layout';
import { grastatePath, readRecoveredPosition, setAsideInvalidGrastate } from '../../cluster/database/galera/node-state';

const VALID =
  '# GALERA saved state\nversion: 2.1\nuuid:    5b7da98a-e9f2-11f1-acb2-e6b84ded841a\nseqno:   12\nsafe_to_bootstrap: 0\n';

describe('setAsideInvalidGrastate(node)', function () {
  let folder: string;
  let node: GaleraNode;

  beforeEach(async function () {
    folder = await mkdtemp(path.join(os.tmpdir(), 'kh-node-state-'));
    node = galeraLayout({ stateDir: folder, ports: portsFromBase(1) }).nodes[0]!;
    await mkdir(node.datadir, { recursive: true });
  });

  afterEach(async function () {
    await rm(folder, { recursive: true, force: true });
  });

  it('moves an empty grastate.dat aside, with the recovered position saved for it, and says so', async function () {
    await writeFile(grastatePath(node), '');
    await writeFile(node.recoveredFile, '5b7da98a-e9f2-11f1-acb2-e6b84ded841a:12\n');
    const said = await setAsideInvalidGrastate(node, new Date('2026-12-01T21:00:00.000Z'));
    expect(said).to.equal(
      'grastate.dat is empty (a failed SST?); moved it to grastate.dat.invalid-2026-12-01T21-00-00-000Z, so the node joins by SST.',
    );
    expect(existsSync(grastatePath(node))).to.equal(false);
    expect(await readdir(node.datadir)).to.deep.equal(['grastate.dat.invalid-2026-12-01T21-00-00-000Z']);
    expect(await readRecoveredPosition(node)).to.equal(undefined);
  });

  it('moves aside a file without a uuid line', async function () {
    await writeFile(grastatePath(node), '# GALERA saved state\nversion: 2.1\nseqno:   -1\n');
    expect(await setAsideInvalidGrastate(node)).to.match(
      /^grastate\.dat has no valid uuid line \(a failed SST\?\); moved it to grastate\.dat\.invalid-/,
    );
    expect(existsSync(grastatePath(node))).to.equal(false);
  });

  it('leaves a valid file, and a missing one, alone', async function () {
    expect(await setAsideInvalidGrastate(node)).to.equal(undefined);
    await writeFile(grastatePath(node), VALID);
    expect(await setAsideInvalidGrastate(node)).to.equal(undefined);
    expect(await readFile(grastatePath(node), 'utf8')).to.equal(VALID);
  });
});
