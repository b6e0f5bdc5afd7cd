'use strict';
/**
 * Memory of a client that registers N events with distinct schemas (run with --expose-gc).
 * argv: socket path, N, kind ('json' | 'zod'). Reports heap and RSS after each phase:
 * connected; the N schema objects made (the user's own cost); N events registered (schemas
 * checked, JSON Schemas not compiled yet); a second client in this process opened the channel
 * (its table of N remote schemas); every event called once (each provider-side validator
 * compiled). The driver reads the hub's RSS from /proc.
 */
const { pkg, serveCommands } = require('./common');

function mem() {
  global.gc();
  global.gc();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, rss: m.rss, external: m.external };
}

function schemaFor(i, kind) {
  if (kind === 'zod') {
    const { z } = require('zod');
    return z.object({ [`f${i}`]: z.number().int(), name: z.string(), active: z.boolean() });
  }
  return {
    type: 'object',
    properties: { [`f${i}`]: { type: 'integer' }, name: { type: 'string' }, active: { type: 'boolean' } },
    required: [`f${i}`, 'name', 'active'],
  };
}

(async () => {
  const [, , socketPath, nArg, kind] = process.argv;
  const n = Number(nArg);
  const { HubClient } = pkg();
  serveCommands({
    run: async () => {
      const out = {};
      const provider = new HubClient({ path: socketPath }, { clientId: `mem-${kind}` });
      const caller = new HubClient({ path: socketPath }, { clientId: `mem-caller-${kind}` });
      await provider.connect();
      await caller.connect();
      const ch = await provider.open(`mem-${kind}`);
      out.base = mem();
      const schemas = [];
      for (let i = 0; i < n; i++) schemas.push(schemaFor(i, kind));
      out.schemasMade = mem();
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) {
        await ch.addEvent(`e${i}`, (msg) => msg.data, { parameters: schemas[i], returns: schemas[i] });
      }
      out.registerMs = Number(process.hrtime.bigint() - t0) / 1e6;
      out.registered = mem();
      const cc = await caller.open(`mem-${kind}`); // its channel_sync lists the N events with their schemas
      out.callerSynced = mem();
      const t1 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) {
        await cc.call(`e${i}`, { [`f${i}`]: i, name: 'x', active: true });
      }
      out.callMs = Number(process.hrtime.bigint() - t1) / 1e6;
      out.called = mem();
      await caller.close();
      await provider.close();
      return out;
    },
  });
  process.send({ ready: true });
})();
