'use strict';
/**
 * Shared by the typed-events benchmark's processes: the compiled package, the 3-field schemas
 * (zod and plain JSON Schema), and a tiny IPC command loop for forked workers.
 */
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');

function pkg() {
  try {
    return require(path.join(ROOT, 'dist', 'index.js'));
  } catch (err) {
    throw new Error(`dist/ is missing or stale: run \`npm run build\` first (${err.message})`);
  }
}

/** The value every call sends and gets back: a small object with 3 fields. */
const VALUE = { id: 42, name: 'widget', active: true };

const JSON_SCHEMA = {
  type: 'object',
  properties: { id: { type: 'integer' }, name: { type: 'string' }, active: { type: 'boolean' } },
  required: ['id', 'name', 'active'],
  additionalProperties: false,
};

function zodSchema() {
  const { z } = require('zod');
  return z.object({ id: z.number().int(), name: z.string(), active: z.boolean() });
}

/** Runs `handlers[cmd](msg)` for each IPC message `{ id, cmd, ... }` and replies `{ id, result | error }`. */
function serveCommands(handlers) {
  process.on('message', async (m) => {
    try {
      const result = await handlers[m.cmd](m);
      process.send({ id: m.id, result });
    } catch (err) {
      process.send({ id: m.id, error: String(err && err.stack || err) });
    }
  });
  process.on('disconnect', () => process.exit(0));
}

function cpuMicros() {
  const u = process.cpuUsage();
  return u.user + u.system;
}

module.exports = { ROOT, pkg, VALUE, JSON_SCHEMA, zodSchema, serveCommands, cpuMicros };
