/**
 * pipe-io-server: the public entry point. Everything users may import is
 * listed here explicitly; nothing else is public.
 */
export { PipeIOError, type PipeIOErrorCode } from './errors';
// -- pipe engine (issue 2) --
// -- socket, protocol, channel, pidfile (issue 3) --
// -- multi-pipe, plugins (issue 5) --
