import { expect } from 'chai';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MultiPipeServer, PipeIOError } from '../../lib';
import { makeTempDir, removeTempDir, waitFor } from '../fixtures/helpers';
import { runBash, runPythonEcho, runPythonEchoMany } from './clients';
import { needsTools } from '../fixtures/tools';

describe('MultiPipeServer at scale and under pipe deletion', function () {
  // slow: spawns 100 Python clients on a 2-core box
  this.timeout(120000);
  before(needsTools('python3'));
  let dir: string;
  let multi: MultiPipeServer;
  let errors: Array<[PipeIOError, string | undefined]>;

  beforeEach(async () => {
    dir = makeTempDir('multi-scale');
    errors = [];
    multi = new MultiPipeServer(path.join(dir, 'p'), { pollInterval: 200 });
    multi.on('error', (err, name) => errors.push([err, name]));
    multi.handleMessage = (name, message) => {
      multi.send(name, message);
    };
    await multi.start();
  });
  afterEach(async () => {
    await multi.stop();
    removeTempDir(dir);
  });

  it('serves 100 pairs echoing concurrently (4 Python clients x 25 threads), nothing lost or glued', async () => {
    const infos = await Promise.all(Array.from({ length: 100 }, (_, i) => multi.addPair(`p${i}`)));
    const attached = new Set<string>();
    multi.on('attach', (name) => attached.add(name));
    const groups = [0, 1, 2, 3].map((g) =>
      infos.slice(g * 25, g * 25 + 25).map((info) => ({ readPipe: info.outPipe, writePipe: info.inPipe, tag: info.name })),
    );
    const results = await Promise.all(groups.map((group) => runPythonEchoMany(group, 1000)));
    results.forEach((r, i) => expect(r.stdout, `client ${i}: ${r.stderr}`).to.equal('OK 25000\n'));
    expect(attached.size).to.equal(100);
    expect(errors).to.deep.equal([]);
  });

  it('adds and removes pairs while other pairs echo', async () => {
    const steady = await multi.addPair('steady');
    const traffic = runPythonEcho(steady.outPipe, steady.inPipe, 20000, 'steady');
    for (let round = 0; round < 5; round++) {
      const info = await multi.addPair(`churn${round}`);
      const r = await runBash(`exec 3<"${info.outPipe}"; echo r${round} > "${info.inPipe}"; read -r l <&3; echo "$l"`);
      expect(r.stdout).to.equal(`r${round}\n`);
      await multi.removePair(info.name);
    }
    expect((await traffic).stdout).to.equal('OK 20000\n');
    expect(multi.pairs().map((p) => p.name)).to.deep.equal(['steady']);
    expect(errors).to.deep.equal([]);
  });

  it('recreates deleted FIFOs and keeps serving; unread replies move to the new out pipe', async () => {
    const info = await multi.addPair('del');
    const recreated: string[] = [];
    multi.on('recreate', (name, p) => recreated.push(`${name}:${path.basename(p)}`));
    for (let i = 0; i < 3; i++) multi.send('del', `before${i}`);
    fs.unlinkSync(info.inPipe);
    fs.unlinkSync(info.outPipe);
    await waitFor(
      () => recreated.length === 2 && fs.lstatSync(info.inPipe, { throwIfNoEntry: false })?.isFIFO() && fs.lstatSync(info.outPipe, { throwIfNoEntry: false })?.isFIFO(),
      'both FIFOs recreated',
      5000,
    );
    expect(recreated.sort()).to.deep.equal(['del:del.in', 'del:del.out']);
    expect(fs.statSync(info.inPipe).mode & 0o777).to.equal(0o600);
    const r = await runBash(`exec 3<"${info.outPipe}"; echo after > "${info.inPipe}"; for i in 1 2 3 4; do read -r l <&3; printf '%s,' "$l"; done`);
    expect(r.stdout).to.equal('before0,before1,before2,after,');
    expect(errors).to.deep.equal([]);
  });

  it('reports a non-FIFO put in place of a pipe with NOT_A_FIFO and leaves it alone', async () => {
    const info = await multi.addPair('nf');
    fs.unlinkSync(info.inPipe);
    fs.writeFileSync(info.inPipe, 'mine');
    await waitFor(() => errors.length > 0, 'a NOT_A_FIFO error');
    expect(errors[0]![0].code).to.equal('PIPEIO_ERR_NOT_A_FIFO');
    expect(errors[0]![1]).to.equal('nf');
    expect(errors[0]![0].path).to.equal(info.inPipe);
    // reported once, not at every poll
    await new Promise<void>((resolve) => {
      let polls = 0;
      const timer = setInterval(() => {
        multi.checkPaths();
        if (++polls === 3) {
          clearInterval(timer);
          resolve();
        }
      }, 10);
    });
    expect(errors.length).to.equal(1);
    // the out side still works
    multi.send('nf', 'still');
    expect((await runBash(`head -n 1 "${info.outPipe}"`)).stdout).to.equal('still\n');
    await multi.stop();
    expect(fs.readFileSync(info.inPipe, 'utf8')).to.equal('mine');
  });

  it('a writer attached to the old in pipe finishes its session before the pair moves', async () => {
    const info = await multi.addPair('mv');
    const got: string[] = [];
    multi.on('message', (_n, m) => got.push(m.toString()));
    const recreated = once(multi, 'recreate');
    // the client opens the in pipe, writes, waits for the delete + recreate, writes more
    const client = runBash(
      `exec 4>"${info.inPipe}"; echo first >&4; rm -f "${info.inPipe}"; ` +
        `for i in $(seq 100); do [ -p "${info.inPipe}" ] && break; sleep 0.05; done; echo second >&4; exec 4>&-; ` +
        `echo third > "${info.inPipe}"`,
    );
    await recreated;
    expect((await client).code).to.equal(0);
    await waitFor(() => got.length === 3, 'three messages');
    expect(got).to.deep.equal(['first', 'second', 'third']);
  });
});
