/**
 * Conformance of the client kit (clients/bash/hub-plugin.sh,
 * clients/python/hub_plugin.py, clients/c/hub_plugin.{h,c}) against a real
 * Hub: each language provides in line mode, and in rpc mode calls out,
 * streams, publishes, fails calls and receives broadcasts.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { makeTempDir, removeTempDir, waitFor } from '../fixtures/helpers';
import type { RawClient } from '../hub/raw-client';
import { PluginFixture } from './fixture';
import { PYTHON } from '../fixtures/python-env';
import { needsTools } from '../fixtures/tools';

const ROOT = path.resolve(__dirname, '..', '..');
const FIXTURES = path.join(__dirname, 'fixtures');
const C_DIR = path.join(ROOT, 'clients', 'c');

/** Compiles C sources (with the kit) into `dir`; returns the binary. */
export function compileC(dir: string, name: string, sources: string[]): string {
  const out = path.join(dir, name);
  const args = ['-std=c99', '-Wall', '-Wextra', '-Werror', '-pedantic', '-O2', `-I${C_DIR}`, '-o', out, ...sources, path.join(C_DIR, 'hub_plugin.c'), path.join(C_DIR, 'pipe_io.c'), '-pthread'];
  const r = spawnSync('cc', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cc failed: ${r.stderr}`);
  return out;
}

/** A raw member providing text:upper (answers its data upper-cased) and text:count (a stream 0..n-1). */
async function serveText(client: RawClient): Promise<void> {
  await client.provide('text', 'upper');
  await client.provide('text', 'count');
  void (async () => {
    while (!client.closed) {
      const call = await client.nextOf('call', undefined, 60000).catch(() => undefined);
      if (!call) return;
      const base = { type: 'response', request_id: call['request_id'], target_id: call['sender_id'] };
      if (call['event'] === 'upper') client.send({ ...base, data: String(call['data']).toUpperCase() });
      else {
        for (let i = 0; i < Number(call['data']); i++) client.send({ ...base, data: i, is_stream: true, is_final: false });
        client.send({ ...base, data: null, is_stream: true, is_final: true });
      }
    }
  })();
}

describe('Hub plugins: client kit conformance', function () {
  this.timeout(30000);
  let fx: PluginFixture;
  let dir: string;

  before(() => {
    dir = makeTempDir('kit');
  });
  after(() => removeTempDir(dir));
  beforeEach(async () => {
    fx = new PluginFixture();
    await fx.start();
  });
  afterEach(() => fx.stop());

  describe('line mode', () => {
    const cases: Array<[string, () => [string, string[]]]> = [
      ['bash hub_serve_lines', () => ['bash', ['-c', `source ${path.join(ROOT, 'clients/bash/hub-plugin.sh')}; up() { [[ $1 == '"fail"' ]] && { printf 'no way'; return 1; }; jq -c ascii_upcase <<<"$1"; }; hub_serve_lines up`]]],
      ['python serve_lines', () => [PYTHON, ['-c', `import sys; sys.path.insert(0, ${JSON.stringify(path.join(ROOT, 'clients/python'))})\nfrom hub_plugin import serve_lines\ndef up(v):\n    if v == "fail": raise ValueError("no way")\n    return v.upper()\nserve_lines(up)`]]],
      ['C hub_plugin_serve_lines', () => [compileC(dir, 'upper', [path.join(ROOT, 'examples/hub-c-group/upper.c')]), []]],
    ];
    for (const [name, make] of cases) {
      it(`${name}: answers, fails on request, keeps serving`, async function () {
        needsTools(...(name.startsWith('bash') ? ['jq'] : name.startsWith('C') ? ['cc'] : ['python3'])).call(this);
        const [cmd, args] = make();
        await fx.attach(cmd, args, { channel: 'text', event: 'upper' });
        const caller = await fx.client('caller');
        expect((await fx.call(caller, 'text', 'upper', 'hello'))['data']).to.equal('HELLO');
        const failed = await fx.call(caller, 'text', 'upper', 'fail');
        if (name.startsWith('C')) {
          expect(failed['data']).to.equal('FAIL'); // the C example never fails
        } else {
          expect(failed).to.include({ error: 'no way', code: 'PIPEIO_ERR_REMOTE' });
        }
        const n = name.startsWith('bash') ? 10 : 100; // jq starts slowly
        for (let i = 0; i < n; i++) caller.send({ type: 'call', request_id: `b${i}`, channel: 'text', event: 'upper', data: `w${i}` });
        for (let i = 0; i < n; i++) expect((await caller.nextOf('response', `b${i}`))['data']).to.equal(`W${i}`);
      });
    }
  });

  describe('rpc mode', () => {
    const cases: Array<[string, () => [string, string[]], boolean]> = [
      ['bash', () => ['bash', [path.join(FIXTURES, 'kit-bash-rpc.sh')]], true],
      ['python', () => [PYTHON, [path.join(FIXTURES, 'kit-python-rpc.py')]], true],
      ['C', () => [compileC(dir, 'kit-rpc', [path.join(FIXTURES, 'kit-c-rpc.c')]), []], false],
    ];
    for (const [name, make, streams] of cases) {
      it(`${name}: calls out, publishes, fails calls, receives broadcasts${streams ? ', streams' : ''}`, async function () {
        needsTools(...(name === 'C' ? ['cc'] : name === 'python' ? ['python3'] : [])).call(this);
        const text = await fx.client('text-provider');
        await serveText(text);
        const [cmd, args] = make();
        const plugin = await fx.attach(cmd, args, { channel: 'kit', event: 'shout', mode: 'rpc', timeout: 5000 });
        await waitFor(() => fx.stderr.includes('ready'), `${name} plugin ready`, 10000);
        const sub = await fx.client('subscriber');
        sub.send({ type: 'subscribe', request_id: 's', channel: 'kit', sub_name: 'shouted' });
        await sub.nextOf('response', 's');
        const caller = await fx.client('caller');
        const res = await fx.call(caller, 'kit', 'shout', 'quiet words');
        expect(res['data']).to.deep.equal({ shouted: 'QUIET WORDS', by: 'caller' });
        const pub = await sub.next((f) => f['type'] === 'receive' && f['event'] === 'subscription.shouted.data');
        expect(pub['data']).to.equal('QUIET WORDS');
        caller.send({ type: 'broadcast', channel: 'kit', event: 'news', data: { n: 1 } });
        await waitFor(() => fx.stderr.find((l) => l.startsWith('message broadcast kit news')), `${name} saw the broadcast`);
        const failed = await fx.call(caller, 'kit', 'fail', null);
        expect(failed).to.include({ error: `${name.toLowerCase()} says no`, code: 'PIPEIO_ERR_REMOTE' });
        if (streams) expect((await fx.call(caller, 'kit', 'count', 3))['data']).to.deep.equal([0, 1, 2]);
        expect(plugin.state).to.equal('running');
      });
    }
  });
});
