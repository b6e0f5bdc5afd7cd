'use strict';
/**
 * The provider of the typed-events benchmark: three events with the same echo handler, one
 * without schemas, one with zod schemas, one with the plain JSON Schema (parameters and
 * returns both), plus the same three as streams. Reports its own CPU time on request.
 * argv: socket path.
 */
const { pkg, JSON_SCHEMA, zodSchema, serveCommands, cpuMicros } = require('./common');

(async () => {
  const { HubClient } = pkg();
  const client = new HubClient({ path: process.argv[2] }, { clientId: 'provider' });
  await client.connect();
  const ch = await client.open('bench');
  const echo = (msg) => msg.data;
  const zod = zodSchema();
  await ch.addEvent('plain', echo);
  await ch.addEvent('zod', echo, { parameters: zod, returns: zod });
  await ch.addEvent('json', echo, { parameters: JSON_SCHEMA, returns: JSON_SCHEMA });
  serveCommands({
    cpu: () => cpuMicros(),
    stop: async () => {
      await client.close();
      return null;
    },
  });
  process.send({ ready: true });
})();
