/**
 * Restart policy for crashed plugins: exponential backoff with a cap, and a
 * counter that resets once an instance has stayed up long enough. Pure: no
 * timers, no I/O.
 */

/** How a crashed plugin is restarted. All durations in milliseconds. */
export interface PluginRestartOptions {
  /** Most restarts in a row (crashes of short-lived instances) before giving up. @default 5 */
  maxRestarts?: number;
  /** Delay before the first restart, in ms; doubled for each further attempt. @default 100 */
  initialDelay?: number;
  /** Upper bound of the delay, in ms. @default 5000 */
  maxDelay?: number;
  /**
   * An instance that ran at least this long before crashing resets the
   * attempt counter (its crash counts as attempt 1 again), in ms. @default 10000
   */
  resetAfter?: number;
}

/** {@link PluginRestartOptions} with every default filled in. */
export type ResolvedRestartOptions = Required<PluginRestartOptions>;

export const DEFAULT_RESTART: ResolvedRestartOptions = Object.freeze({
  maxRestarts: 5,
  initialDelay: 100,
  maxDelay: 5000,
  resetAfter: 10000,
});

function checkCount(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`options.restart.${name} must be a non-negative integer (got ${String(value)})`);
  }
}

/**
 * Validates and completes restart options (`true` = defaults, `false` or
 * `undefined` = no restart). Throws TypeError/RangeError on bad values.
 */
export function resolveRestartOptions(
  restart: boolean | PluginRestartOptions | undefined,
): ResolvedRestartOptions | undefined {
  if (restart === undefined || restart === false) return undefined;
  if (restart === true) return { ...DEFAULT_RESTART };
  if (typeof restart !== 'object' || restart === null) {
    throw new TypeError('options.restart must be a boolean or an object');
  }
  const resolved: ResolvedRestartOptions = { ...DEFAULT_RESTART };
  for (const key of Object.keys(DEFAULT_RESTART) as (keyof ResolvedRestartOptions)[]) {
    const value = restart[key];
    if (value === undefined) continue;
    checkCount(key, value);
    resolved[key] = value;
  }
  if (resolved.maxDelay < resolved.initialDelay) {
    throw new RangeError('options.restart.maxDelay must be >= options.restart.initialDelay');
  }
  return resolved;
}

/** Delay before restart number `attempt` (1-based): initialDelay * 2^(attempt-1), capped at maxDelay. */
export function backoffDelay(attempt: number, options: ResolvedRestartOptions): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  return Math.min(options.initialDelay * 2 ** exponent, options.maxDelay);
}

/**
 * Tracks consecutive crashes. `next(uptime)` answers the attempt number and
 * delay of the restart to schedule, or `undefined` when the budget is spent.
 */
export class RestartBudget {
  private attempts = 0;

  constructor(private readonly options: ResolvedRestartOptions) {}

  /** Restarts scheduled since the last reset. */
  get attempt(): number {
    return this.attempts;
  }

  /** @param uptime how long the crashed instance ran, in ms */
  next(uptime: number): { attempt: number; delay: number } | undefined {
    if (uptime >= this.options.resetAfter) this.attempts = 0;
    if (this.attempts >= this.options.maxRestarts) return undefined;
    this.attempts += 1;
    return { attempt: this.attempts, delay: backoffDelay(this.attempts, this.options) };
  }
}
