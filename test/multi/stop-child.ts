/**
 * Child-process fixture for the stop tests: serves `count` echo pairs in
 * `dir`, prints `READY <dir>` once they are up, and stops on SIGTERM. The
 * process must then exit by itself (nothing left alive), with code 0.
 * Usage: node stop-child.js DIR COUNT
 */
import { MultiPipeServer } from '../../lib/multi/multi-pipe-server';

async function main(): Promise<void> {
  const [dir, count] = process.argv.slice(2);
  const multi = new MultiPipeServer(dir as string);
  multi.handleMessage = (name, message) => {
    multi.send(name, message);
  };
  multi.on('error', (err) => process.stderr.write(`error ${err.code} ${err.message}\n`));
  await multi.start();
  for (let i = 0; i < Number(count); i++) await multi.addPair(`c${i}`);
  process.once('SIGTERM', () => {
    const t0 = process.hrtime.bigint();
    void multi.stop().then(() => {
      process.stdout.write(`STOPPED ${Number(process.hrtime.bigint() - t0) / 1e6}\n`);
    });
  });
  process.stdout.write(`READY ${dir}\n`);
}

main().catch((err) => {
  process.stderr.write(`${String(err)}\n`);
  process.exitCode = 1;
});
