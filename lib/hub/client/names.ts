/**
 * Argument checks shared by the client's public methods: TypeError for a
 * wrong type (thrown), PIPEIO_ERR_RESERVED for the names comm-ipc's own
 * client refuses (`subscription` as a channel, `subscription.*` as an event).
 */
import { pipeIOError } from '../../errors';
import { RESERVED_CHANNEL, SUBSCRIPTION_EVENT_PREFIX } from '../protocol/messages';

/** Throws TypeError unless `value` is a non-empty string. */
export function checkName(value: unknown, what: string): asserts value is string {
  if (typeof value !== 'string' || value === '') throw new TypeError(`${what} must be a non-empty string`);
}

/** Rejects event names comm-ipc reserves for subscription pushes. */
export function checkEventName(value: unknown): asserts value is string {
  checkName(value, 'event');
  if (value.startsWith(SUBSCRIPTION_EVENT_PREFIX)) {
    throw pipeIOError('PIPEIO_ERR_RESERVED', `Event name '${value}' is reserved (cannot start with 'subscription.')`);
  }
}

export function checkChannelName(value: unknown): asserts value is string {
  checkName(value, 'channel');
  if (value === RESERVED_CHANNEL) throw pipeIOError('PIPEIO_ERR_RESERVED', `Channel name '${value}' is reserved`);
}
