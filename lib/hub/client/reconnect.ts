/**
 * Reconnect policy: exponential backoff with jitter and a cap (reusing the
 * plugin restart curve), attempt counting, and the errors that end it.
 * Pure apart from one stored timer, which cancel() clears.
 */
import type { PipeIOError } from '../../errors';
import { backoffDelay, type ResolvedRestartOptions } from '../../plugin/backoff';

/** First delay 100 ms, doubled per failed attempt, capped at 30 s. */
export const RECONNECT_CURVE: ResolvedRestartOptions = Object.freeze({
  maxRestarts: 0,
  initialDelay: 100,
  maxDelay: 30_000,
  resetAfter: 0,
});

/**
 * Delay before reconnect attempt `attempt` (1-based): the capped exponential
 * delay, scaled by a random factor in [0.5, 1) so clients that lost the same
 * hub do not come back in lockstep.
 */
export function reconnectDelay(attempt: number, random: () => number = Math.random): number {
  return Math.round(backoffDelay(attempt, RECONNECT_CURVE) * (0.5 + random() / 2));
}

/**
 * Errors after which retrying cannot help (comm-ipc stops on the texts
 * `Authentication failed` and `Invalid channel password`; our hub also
 * refuses reserved ids and, unless allowed, bridge mode).
 */
export function isFatalReconnectError(err: PipeIOError): boolean {
  return err.code === 'PIPEIO_ERR_AUTH' || err.code === 'PIPEIO_ERR_RESERVED' || err.code === 'PIPEIO_ERR_FORBIDDEN';
}

export class ReconnectTimer {
  private timer: NodeJS.Timeout | undefined;
  private attemptValue = 0;

  constructor(private readonly maxTries: number) {}

  get attempt(): number {
    return this.attemptValue;
  }

  /** Schedules the next attempt; false when `maxTries` (>0) failed attempts are spent. */
  schedule(run: () => void): boolean {
    if (this.maxTries > 0 && this.attemptValue >= this.maxTries) return false;
    this.attemptValue++;
    this.cancel();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      run();
    }, reconnectDelay(this.attemptValue));
    return true;
  }

  /** A reconnect succeeded: the next outage starts from the first delay. */
  reset(): void {
    this.attemptValue = 0;
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
