/**
 * Real client processes for the pipe-server tests (test/fixtures/python/fifo_peer.py),
 * each with a deadline, all killed in `killPeers()`.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { waitForLine } from '../fixtures/helpers';
import { PYTHON } from '../fixtures/python-env';

const PEER = path.join(__dirname, '..', 'fixtures', 'python', 'fifo_peer.py');
const running = new Set<ChildProcess>();

export interface PeerResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

/** Starts the peer with `args`; stdin stays open (hold commands wait for its end). */
export function startPeer(args: string[]): ChildProcess {
  const child = spawn(PYTHON, [PEER, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

/** Runs the peer to completion; rejects if it has not exited within `timeout` ms. */
export function runPeer(args: string[], timeout = 10000): Promise<PeerResult> {
  const child = startPeer(args);
  child.stdin?.end();
  return collect(child, timeout);
}

/** Gathers a started peer's output until it exits; kills it and rejects after `timeout` ms. */
export function collect(child: ChildProcess, timeout = 10000): Promise<PeerResult> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    let err = '';
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => (err += b.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`peer ${child.spawnargs.slice(2).join(' ')} did not finish within ${timeout} ms; stderr: ${err}`));
    }, timeout);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: err });
    });
  });
}

/** Starts a holding peer and resolves once it printed HELD (its pipes are open). */
export async function holdPeer(args: string[]): Promise<ChildProcess> {
  const child = startPeer(args);
  await waitForLine(child, /^HELD$/, 10000);
  return child;
}

/** SIGKILLs every peer still running and waits for them. */
export async function killPeers(): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
}

/**
 * Writes `payload` to a file in `dir` and runs the peer's `echo` mode against
 * `server` with it; resolves with what came back (asserts a zero exit).
 */
export async function echoThroughPeer(
  server: { inPipe: string; outPipe: string },
  dir: string,
  payload: Buffer,
  timeout = 20000,
): Promise<Buffer> {
  const file = path.join(dir, 'payload');
  fs.writeFileSync(file, payload);
  const result = await runPeer(['echo', server.inPipe, server.outPipe, file], timeout);
  expect(result.code, result.stderr).to.equal(0);
  return result.stdout;
}
