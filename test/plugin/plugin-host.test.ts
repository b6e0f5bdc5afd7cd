/**
 * PluginHost and Plugin with real child plugins (bash, Python): messages,
 * stderr lines, exit events, restart with backoff, SIGTERM -> SIGKILL, and
 * nothing left behind (processes, FIFOs, directories).
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import { PipeIOError } from '../../lib/errors';
import type { Plugin } from '../../lib/plugin/plugin';
import { PluginHost } from '../../lib/plugin/plugin-host';
import { makeTempDir, removeTempDir, waitFor } from '../fixtures/helpers';
import { BASH_PLUGIN, nextEvent, nextMessage, processExists, PY_PLUGIN, STUBBORN_PLUGIN } from './helpers';
import { PYTHON } from '../fixtures/python-env';
import { needsTools } from '../fixtures/tools';

describe('PluginHost', function () {
  let host: PluginHost;
  let dir: string | undefined;

  beforeEach(function () {
    host = new PluginHost({ gracePeriod: 1000 });
  });

  afterEach(async function () {
    await host.stop();
    removeTempDir(dir);
    dir = undefined;
  });

  async function spawnReady(command: string, args: string[] = [], options = {}): Promise<Plugin> {
    const plugin = await host.spawnPlugin(command, args, { stdout: 'ignore', ...options });
    await nextMessage(plugin, /^ready/);
    return plugin;
  }

  describe('#spawnPlugin', function () {
    it('runs a bash plugin on its own pair, told through PIPE_IO_READ_PIPE / PIPE_IO_WRITE_PIPE', async function () {
      const plugin = await spawnReady(BASH_PLUGIN);
      expect(plugin.state).to.equal('running');
      expect(plugin.pid).to.be.a('number');
      expect(fs.statSync(plugin.readPipe).isFIFO()).to.equal(true);
      expect(fs.statSync(plugin.writePipe).isFIFO()).to.equal(true);
      expect(fs.statSync(plugin.readPipe).mode & 0o777).to.equal(0o600);
      expect(fs.statSync(host.dir as string).mode & 0o777).to.equal(0o700);
      plugin.send('env');
      expect(await nextMessage(plugin, /^env/)).to.equal(`env ${plugin.readPipe} ${plugin.writePipe}`);
      const replies: string[] = [];
      plugin.on('message', (m) => replies.push(m.toString()));
      plugin.send('hello');
      plugin.send('world');
      await waitFor(() => replies.length === 2, 'two replies');
      expect(replies).to.deep.equal(['echo: hello', 'echo: world']);
    });

    it('runs a Python plugin next to a bash one and routes each one its own messages', async function () {
      needsTools('python3').call(this);
      const bash = await spawnReady(BASH_PLUGIN);
      const py = await spawnReady(PYTHON, [PY_PLUGIN]);
      expect(bash.name).to.not.equal(py.name);
      expect(host.plugins()).to.have.members([bash, py]);
      const fromPy: string[] = [];
      py.on('message', (m) => fromPy.push(m.toString()));
      py.send('one');
      bash.send('two');
      expect(await nextMessage(bash, /^echo:/)).to.equal('echo: two');
      await waitFor(() => fromPy.length === 1, 'the Python reply');
      expect(fromPy).to.deep.equal(['py: one']);
    });

    it("emits the plugin's stderr as 'stderr' line events", async function () {
      needsTools('python3').call(this);
      const plugin = await spawnReady(PYTHON, [PY_PLUGIN]);
      const lines = nextEvent<[string]>(plugin, 'stderr', (line) => line === 'second line');
      const first = nextEvent<[string]>(plugin, 'stderr');
      plugin.send('stderr first line');
      plugin.send('stderr second line');
      expect((await first)[0]).to.equal('first line');
      expect((await lines)[0]).to.equal('second line');
    });

    it("leaves the plugin's stdout to the plugin: never mixed into messages, readable with stdout: 'pipe'", async function () {
      const plugin = await spawnReady(BASH_PLUGIN, [], { stdout: 'pipe' });
      const stdout = plugin.process!.stdout!;
      stdout.setEncoding('utf8');
      const messages: string[] = [];
      plugin.on('message', (m) => messages.push(m.toString()));
      const printed = new Promise<string>((resolve) => {
        let text = '';
        stdout.on('data', (chunk: string) => {
          text += chunk;
          if (text.includes('\n')) resolve(text);
        });
      });
      plugin.send('stdout own output');
      plugin.send('after');
      expect(await nextMessage(plugin, /^echo: after$/)).to.equal('echo: after');
      expect(await printed).to.equal('own output\n');
      expect(messages).to.deep.equal(['echo: after']);
    });

    it('uses the given name for the pair', async function () {
      dir = makeTempDir('pio-plugin');
      await host.stop();
      host = new PluginHost({ dir });
      const plugin = await spawnReady(BASH_PLUGIN, [], { name: 'calc' });
      expect(plugin.name).to.equal('calc');
      expect(plugin.writePipe).to.equal(`${dir}/calc.in`);
      expect(plugin.readPipe).to.equal(`${dir}/calc.out`);
      const err = await host.spawnPlugin(BASH_PLUGIN, [], { name: 'calc', stdout: 'ignore' }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(PipeIOError);
      expect((err as PipeIOError).code).to.equal('PIPEIO_ERR_PAIR_EXISTS');
    });

    it('rejects PIPEIO_ERR_SPAWN (cause ENOENT) for a missing command and leaves no pair', async function () {
      await host.start();
      const err = await host.spawnPlugin('/nonexistent/plugin-cmd').catch((e: unknown) => e);
      expect(err).to.be.instanceOf(PipeIOError);
      expect((err as PipeIOError).code).to.equal('PIPEIO_ERR_SPAWN');
      expect(((err as PipeIOError).cause as NodeJS.ErrnoException).code).to.equal('ENOENT');
      expect(fs.readdirSync(host.dir as string)).to.deep.equal([]);
      expect(host.plugins()).to.deep.equal([]);
    });

    it('rejects bad arguments with TypeError / RangeError', async function () {
      const bad = [
        host.spawnPlugin(''),
        host.spawnPlugin('bash', ['-c', 3 as unknown as string]),
        host.spawnPlugin('bash', [], { name: '../evil' }),
        host.spawnPlugin('bash', [], { restart: { maxRestarts: -1 } }),
        host.spawnPlugin('bash', [], { gracePeriod: 1.5 }),
      ];
      const errors = await Promise.all(bad.map((p) => p.then(() => undefined, (e: unknown) => e)));
      expect(errors.map((e) => (e as Error).name)).to.deep.equal([
        'TypeError',
        'TypeError',
        'TypeError',
        'RangeError',
        'RangeError',
      ]);
      expect(() => new PluginHost({ gracePeriod: -1 })).to.throw(RangeError);
    });
  });

  describe("event: 'exit' and 'close'", function () {
    it('reports the exit code, removes the pair and closes the plugin', async function () {
      const plugin = await spawnReady(BASH_PLUGIN);
      const exited = nextEvent<[number | null, string | null]>(plugin, 'exit');
      const closed = nextEvent<[unknown]>(plugin, 'close');
      plugin.send('exit 7');
      expect(await exited).to.deep.equal([7, null]);
      expect((await closed)[0]).to.deep.equal({ code: 7, signal: null });
      expect(plugin.state).to.equal('closed');
      expect(fs.existsSync(plugin.readPipe)).to.equal(false);
      expect(fs.existsSync(plugin.writePipe)).to.equal(false);
      expect(host.plugins()).to.deep.equal([]);
      const err = (() => {
        try {
          plugin.send('late');
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect((err as PipeIOError).code).to.equal('PIPEIO_ERR_CLOSED');
    });

    it('reports the signal that killed the plugin', async function () {
      const plugin = await spawnReady(BASH_PLUGIN);
      const exited = nextEvent<[number | null, string | null]>(plugin, 'exit');
      process.kill(plugin.pid as number, 'SIGKILL');
      expect(await exited).to.deep.equal([null, 'SIGKILL']);
      expect(await plugin.wait()).to.deep.equal({ code: null, signal: 'SIGKILL' });
    });

    it('delivers every message a plugin wrote right before exiting', async function () {
      needsTools('python3').call(this);
      const plugin = await spawnReady(PYTHON, [PY_PLUGIN]);
      const got: string[] = [];
      plugin.on('message', (m) => got.push(m.toString()));
      plugin.send('burst 200');
      expect(await plugin.wait()).to.deep.equal({ code: 0, signal: null });
      expect(got).to.have.length(200);
      expect(got[0]).to.equal('burst 0');
      expect(got[199]).to.equal('burst 199');
    });
  });

  describe('option: restart', function () {
    it('restarts a crashed plugin with exponential backoff; the pair keeps working', async function () {
      this.timeout(10000);
      const plugin = await spawnReady(BASH_PLUGIN, [], { restart: { maxRestarts: 2, initialDelay: 50, maxDelay: 80 } });
      const firstPid = plugin.pid as number;
      const writePipe = plugin.writePipe;

      // crash 1: a message sent while the plugin is down reaches the next instance
      const restart1 = nextEvent<[number, number]>(plugin, 'restart');
      const exit1 = nextEvent<[number | null, string | null]>(plugin, 'exit');
      const stderr1 = nextEvent<[string]>(plugin, 'stderr', (l) => l === 'crashing');
      const respawn1 = nextEvent<[number]>(plugin, 'spawn');
      plugin.send('crash');
      expect(await exit1).to.deep.equal([3, null]);
      expect(await restart1).to.deep.equal([1, 50]);
      expect(plugin.state).to.equal('restarting');
      plugin.send('queued while down');
      await stderr1;
      const [secondPid] = await respawn1;
      expect(secondPid).to.not.equal(firstPid);
      expect(await nextMessage(plugin, /^echo: queued while down$/)).to.equal('echo: queued while down');
      expect(plugin.writePipe).to.equal(writePipe);
      expect(processExists(firstPid)).to.equal(false);

      // crash 2: delay doubles, capped at maxDelay
      const restart2 = nextEvent<[number, number]>(plugin, 'restart');
      const respawn2 = nextEvent<[number]>(plugin, 'spawn');
      plugin.send('crash');
      expect(await restart2).to.deep.equal([2, 80]);
      await respawn2;
      plugin.send('still here');
      expect(await nextMessage(plugin, /^echo: still/)).to.equal('echo: still here');

      // crash 3: budget spent, the plugin closes with its last exit
      plugin.send('crash');
      expect(await plugin.wait()).to.deep.equal({ code: 3, signal: null });
      expect(plugin.restarts).to.equal(2);
      expect(fs.existsSync(writePipe)).to.equal(false);
    });

    it('does not restart a plugin that exits with status 0', async function () {
      const plugin = await spawnReady(BASH_PLUGIN, [], { restart: true });
      let restarted = false;
      plugin.on('restart', () => (restarted = true));
      plugin.send('exit 0');
      expect(await plugin.wait()).to.deep.equal({ code: 0, signal: null });
      expect(restarted).to.equal(false);
    });
  });

  describe('#stop', function () {
    it('stops a plugin with SIGTERM and removes its pair', async function () {
      const plugin = await spawnReady(BASH_PLUGIN);
      const pid = plugin.pid as number;
      const first = plugin.stop();
      expect(plugin.stop()).to.equal(first);
      expect(await first).to.deep.equal({ code: null, signal: 'SIGTERM' });
      expect(processExists(pid)).to.equal(false);
      expect(fs.existsSync(plugin.readPipe)).to.equal(false);
      expect(await plugin.stop()).to.deep.equal({ code: null, signal: 'SIGTERM' });
    });

    it('SIGKILLs a plugin that ignores SIGTERM after the grace period', async function () {
      const plugin = await spawnReady(STUBBORN_PLUGIN, [], { gracePeriod: 300 });
      const pid = plugin.pid as number;
      const started = Date.now();
      const exit = await plugin.stop();
      const took = Date.now() - started;
      expect(exit).to.deep.equal({ code: null, signal: 'SIGKILL' });
      expect(took).to.be.within(280, 2000);
      expect(processExists(pid)).to.equal(false);
    });

    it('ends the processes the plugin started (its process group)', async function () {
      const plugin = await spawnReady(BASH_PLUGIN);
      plugin.send('spawn-child');
      const childPid = Number((await nextMessage(plugin, /^child \d+$/)).split(' ')[1]);
      expect(processExists(childPid)).to.equal(true);
      await plugin.stop();
      expect(processExists(childPid)).to.equal(false);
    });
  });

  describe('#stop (host)', function () {
    it('ends every plugin, even one ignoring SIGTERM, and leaves no process, pipe or directory', async function () {
      needsTools('python3').call(this);
      await host.stop();
      host = new PluginHost({ gracePeriod: 200 });
      const plugins = [
        await spawnReady(BASH_PLUGIN),
        await spawnReady(PYTHON, [PY_PLUGIN]),
        await spawnReady(STUBBORN_PLUGIN),
      ];
      const pids = plugins.map((p) => p.pid as number);
      const hostDir = host.dir as string;
      const closed = nextEvent(host, 'close');
      const first = host.stop();
      expect(host.stop()).to.equal(first);
      await first;
      await closed;
      expect(host.state).to.equal('closed');
      expect(pids.map(processExists)).to.deep.equal([false, false, false]);
      expect(plugins.map((p) => p.state)).to.deep.equal(['closed', 'closed', 'closed']);
      expect(fs.existsSync(hostDir)).to.equal(false);
      const err = await host.spawnPlugin(BASH_PLUGIN).catch((e: unknown) => e);
      expect((err as PipeIOError).code).to.equal('PIPEIO_ERR_CLOSED');
    });

    it('keeps a given directory and removes only its pipes', async function () {
      dir = makeTempDir('pio-plugin');
      await host.stop();
      host = new PluginHost({ dir });
      await spawnReady(BASH_PLUGIN);
      expect(fs.readdirSync(dir)).to.have.length(2);
      await host.stop();
      expect(fs.existsSync(dir)).to.equal(true);
      expect(fs.readdirSync(dir)).to.deep.equal([]);
    });

    it('is fine before start() and with await using', async function () {
      await host.stop();
      expect(host.state).to.equal('closed');
      let pid: number;
      let hostDir: string;
      {
        await using scoped = new PluginHost();
        const plugin = await scoped.spawnPlugin(BASH_PLUGIN, [], { stdout: 'ignore' });
        pid = plugin.pid as number;
        hostDir = scoped.dir as string;
      }
      expect(processExists(pid)).to.equal(false);
      expect(fs.existsSync(hostDir)).to.equal(false);
    });
  });
});
