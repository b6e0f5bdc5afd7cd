/**
 * A real nats-server for federation tests: loopback, a free random port,
 * ready once it accepts TCP; restart() reuses the port; stop() kills it.
 * Without nats-server the tests fail (never skip) and say how to install it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { killChild, waitFor } from '../fixtures/helpers';

/** Where nats-server is: PATH, then the sbin folders Debian installs it to. */
export function findNatsServer(): string {
  const dirs = [...(process.env['PATH'] ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/local/bin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const file = path.join(dir, 'nats-server');
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // next
    }
  }
  throw new Error('nats-server is not installed (not on PATH nor in /usr/sbin): apt-get install nats-server');
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect({ host: '127.0.0.1', port }, () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

export class NatsFixture {
  port = 0;
  private child: ChildProcess | undefined;
  private stderr = '';

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Reserves a port without starting the server (for "hub started before NATS"). */
  async reserve(): Promise<number> {
    findNatsServer();
    this.port = await freePort();
    return this.port;
  }

  async start(): Promise<void> {
    const bin = findNatsServer();
    if (!this.port) this.port = await freePort();
    this.stderr = '';
    const child = spawn(bin, ['-a', '127.0.0.1', '-p', String(this.port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr?.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    child.stdout?.resume();
    this.child = child;
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`nats-server exited (${child.exitCode}): ${this.stderr}`);
        return accepts(this.port);
      },
      `nats-server to accept on port ${this.port}`,
      10_000,
    );
  }

  /** Kills the server (SIGKILL) and waits for its exit. */
  async kill(): Promise<void> {
    await killChild(this.child);
    this.child = undefined;
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  async stop(): Promise<void> {
    await this.kill();
    this.port = 0;
  }
}
