/**
 * The request a hub answers with its metrics snapshot: a `call` into the
 * read-only system channel `__comm_ipc_system`, event `stats`, data
 * `{ topology?: boolean, limit?: number }`. Any comm-ipc client can make it
 * (it is an ordinary call); a hub that does not serve it (comm-ipc's own,
 * or ours with `metrics: false`) answers with an error.
 */
export const STATS_CHANNEL = '__comm_ipc_system';
export const STATS_EVENT = 'stats';
