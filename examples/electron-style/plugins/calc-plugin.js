// A plugin written in JavaScript: JSON-line requests {id, op, args} on
// $PIPE_IO_READ_PIPE, replies {id, result} or {id, error} on $PIPE_IO_WRITE_PIPE.
// Under Electron it runs on the Electron binary itself (ELECTRON_RUN_AS_NODE=1).
'use strict';
const fs = require('node:fs');
const readline = require('node:readline');

const OPS = {
  add: (a, b) => a + b,
  mul: (a, b) => a * b,
};

const out = fs.createWriteStream(process.env.PIPE_IO_WRITE_PIPE);
const lines = readline.createInterface({ input: fs.createReadStream(process.env.PIPE_IO_READ_PIPE) });
lines.on('line', (line) => {
  let reply;
  try {
    const { id, op, args } = JSON.parse(line);
    reply = OPS[op] ? { id, result: OPS[op](...args) } : { id, error: `unknown op ${op}` };
  } catch (err) {
    reply = { id: null, error: String(err) };
  }
  out.write(JSON.stringify(reply) + '\n');
});
lines.on('close', () => out.end());
process.on('SIGTERM', () => process.exit(0));
