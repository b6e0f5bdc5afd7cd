/** Defaults shared across the package. */

/** FIFO, socket and pidfile permission bits: owner read/write only. */
export const DEFAULT_PERMISSIONS = 0o600;
/** Longest incoming message in bytes (newline excluded): 64 MiB. */
export const DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024;
/** Queued outgoing bytes at which sendMessage() starts returning false: 1 MiB. */
export const DEFAULT_HIGH_WATER_MARK = 1024 * 1024;
/** Queued outgoing bytes beyond which sendMessage() throws: 64 MiB. */
export const DEFAULT_MAX_QUEUE_BYTES = 64 * 1024 * 1024;
/** How long stop() waits for a worker before terminating it, in ms. */
export const DEFAULT_CLOSE_TIMEOUT = 2000;
/** Fallback poll for deleted or replaced pipe paths, in ms. */
export const DEFAULT_WATCH_INTERVAL = 500;
