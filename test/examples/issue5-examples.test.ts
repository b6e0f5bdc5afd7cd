/**
 * The issue 5 examples run as real processes (against dist/, built once) with
 * a deadline; their output is asserted.
 */
import { spawn } from 'node:child_process';
import { expect } from 'chai';
import * as path from 'node:path';
import { buildOnce, ROOT } from '../cli/run-cli';
import { needsTools } from '../fixtures/tools';

function runExample(file: string, timeout = 20000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, file)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} did not exit within ${timeout} ms; stdout: ${stdout}; stderr: ${stderr}`));
    }, timeout);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('issue 5 examples', function () {
  before(function () {
    this.timeout(120000); // slow: compiles the project once
    buildOnce();
  });

  it('examples/plugin-host: a Node app hosting a bash and a Python plugin', async function () {
    needsTools('python3').call(this);
    const r = await runExample('examples/plugin-host/host.js');
    expect(r.code, r.stderr).to.equal(0);
    const lines = r.stdout.trim().split('\n').filter((l) => !l.includes('stderr]'));
    // The two plugins are stopped together: their exits come in either order.
    const exits = lines.filter((l) => l.endsWith('exited (SIGTERM)'));
    expect(lines.filter((l) => !exits.includes(l))).to.deep.equal([
      '[upper] HELLO FROM NODE',
      '[wordcount] {"text": "hello from node", "words": 3}',
      '[upper] PIPES ALL THE WAY DOWN',
      '[wordcount] {"text": "pipes all the way down", "words": 5}',
      'host stopped',
    ]);
    expect([...exits].sort()).to.deep.equal(['[upper] exited (SIGTERM)', '[wordcount] exited (SIGTERM)']);
    expect(lines.indexOf('host stopped')).to.equal(lines.length - 1);
    expect(r.stdout).to.match(/^\[upper stderr\] upper\.sh: started \(pid \d+\)$/m);
    expect(r.stdout).to.match(/^\[wordcount stderr\] wordcount\.py: started \(pid \d+\)$/m);
  });

  it('examples/electron-style: main-process code on the plain-Node stand-in', async function () {
    const r = await runExample('examples/electron-style/main.js');
    expect(r.code, r.stderr).to.equal(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).to.match(/^\[main\] plugin calc started \(pid \d+\)$/);
    expect(lines.slice(1)).to.deep.equal([
      '[renderer] 2 + 3 = 5',
      '[renderer] 6 * 7 = 42',
      '[main] stopping plugins before quit',
      '[main] plugins stopped; quitting',
    ]);
  });
});
