/**
 * Runs the hub-plugin examples as real processes (as their READMEs say) and
 * checks their output: a bash plugin called from Node and from the Python
 * comm-ipc client, a C plugin serving a group of 4, a Python rpc plugin, a subscribe | grep
 * pipeline (on the built CLI).
 */
import { expect } from 'chai';
import * as path from 'node:path';
import { ROOT } from '../clients/adapters';
import { killAll, startChild, waitForExit } from '../clients/child-process';
import { buildOnce } from '../cli/run-cli';
import { needsPython } from '../fixtures/python-env';
import { needsTools } from '../fixtures/tools';

const RUN_DEADLINE_MS = 60000; // ts-node start-up plus the example, on a loaded machine

async function runExample(name: string): Promise<string[]> {
  const child = startChild(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join('examples', name, 'main.ts')], {
    cwd: ROOT,
    label: `example ${name}`,
  });
  const exit = await waitForExit(child, RUN_DEADLINE_MS, 'finish');
  expect(exit, `stderr: ${child.stderr()}`).to.deep.equal({ code: 0, signal: null });
  expect(child.stderr()).to.equal('');
  return child.stdout().trimEnd().split('\n');
}

describe('hub plugin examples', function () {
  this.timeout(RUN_DEADLINE_MS + 5000);
  before(function () {
    this.timeout(120000); // compiles dist/ when lib/ changed: the examples import the built package
    buildOnce();
  });
  after(() => killAll());

  it('hub-bash-upper: a bash plugin provides text:upper, called from Node and from Python comm-ipc', async function () {
    needsTools('jq').call(this);
    needsPython('msgpack').call(this);
    expect(await runExample('hub-bash-upper')).to.deep.equal([
      'plugin bash-upper provides text:upper',
      'node-app got: "HELLO FROM NODE" (from bash-upper)',
      'node-app got an error: jq: error (at <stdin>:1): upper wants a string',
      'python-app got: "HELLO FROM PYTHON"',
    ]);
  });

  it('hub-c-group: a C plugin serves a group of 4', async function () {
    needsTools('cc').call(this);
    expect(await runExample('hub-c-group')).to.deep.equal([
      '4 instances (c-worker-1, c-worker-2, c-worker-3, c-worker-4) provide jobs:workers.square',
      '100 calls: 100 correct, answered by 4 processes',
      'a bad call fails: worker.c wants a number',
    ]);
  });

  it('hub-python-plugin: a Python rpc plugin calls out, streams, publishes, returns bytes', async function () {
    needsTools('python3', 'jq').call(this); // it calls out to hub-bash-upper's upper.sh
    expect(await runExample('hub-python-plugin')).to.deep.equal([
      'shout: "QUIET PLEASE"',
      'letters (a stream): ["a","b","c"]',
      'stats: 2 words, bytes "two words"',
      'published on words/shouted: "QUIET PLEASE"',
      'a bad call fails: stats wants a string, got int',
    ]);
  });

  it('hub-subscribe-grep: a shell pipeline subscribes to a topic and greps it', async () => {
    buildOnce();
    const child = startChild('bash', [path.join('examples', 'hub-subscribe-grep', 'main.sh')], { cwd: ROOT, label: 'example hub-subscribe-grep' });
    const exit = await waitForExit(child, RUN_DEADLINE_MS, 'finish');
    expect(exit, `stderr: ${child.stderr()}`).to.deep.equal({ code: 0, signal: null });
    expect(child.stdout()).to.equal('"URGENT: the kettle is on fire"\n{"text":"urgent: tea is out"}\n');
  });
});
