'use strict';
/** The hub of the typed-events benchmark, in its own process. argv: socket path. */
const { pkg, serveCommands, cpuMicros } = require('./common');

(async () => {
  const { Hub } = pkg();
  const hub = new Hub({ serverId: 'bench' });
  await hub.listen({ path: process.argv[2] });
  serveCommands({
    cpu: () => cpuMicros(),
    stop: async () => {
      await hub.stop();
      return null;
    },
  });
  process.send({ ready: true });
})();
