'use strict';
/**
 * The naive FIFO echo server: what most Node code does with a named pipe.
 * Usage: node bench/servers/naive.js IN_PIPE OUT_PIPE   (both FIFOs must exist)
 * fs.createReadStream + readline for input, fs.createWriteStream for output, no backpressure.
 * Both opens and every read run on libuv's thread pool, each blocking a pool thread.
 * Prints READY at once (the opens are queued on the pool); exits at EOF of the in pipe
 * or on SIGTERM (default action: the process is killed even with pool threads blocked).
 */
const fs = require('node:fs');
const readline = require('node:readline');

const [inPipe, outPipe] = process.argv.slice(2);
if (!inPipe || !outPipe) {
  console.error('usage: node naive.js IN_PIPE OUT_PIPE');
  process.exit(2);
}
const input = fs.createReadStream(inPipe);
const output = fs.createWriteStream(outPipe);
const rl = readline.createInterface({ input, crlfDelay: Infinity });
rl.on('line', (line) => {
  output.write(line + '\n');
});
// Largest event-loop stall: gap between 10 ms timer ticks, printed as "MAXGAP <ms>" at EOF.
let lastTick = performance.now();
let maxGapMs = 0;
const ticker = setInterval(() => {
  const now = performance.now();
  maxGapMs = Math.max(maxGapMs, now - lastTick);
  lastTick = now;
}, 10);
rl.on('close', () => {
  clearInterval(ticker);
  console.log(`MAXGAP ${maxGapMs.toFixed(1)}`);
  output.end();
});
output.on('error', (err) => {
  if (err.code !== 'EPIPE') console.error(`naive: ${err.message}`);
});
console.log('READY');
