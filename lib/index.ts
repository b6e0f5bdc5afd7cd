/**
 * pipe-io-server: the public entry point. Everything users may import is
 * listed here explicitly; nothing else is public.
 */
export { PipeIOError, type PipeIOErrorCode } from './errors';
// -- pipe engine (issue 2) --
export { PipeIOServer, PipeReaderServer, PipeWriterServer } from './pipe/server';
export type { PipeServerOptions, PipeServerEvents, PipeServerState, MessageHandlerResult } from './types';
export { LineSplitter, type LineSplitterOptions } from './framing/line-splitter';
// -- socket, protocol, channel, pidfile (issue 3) --
// -- multi-pipe, plugins (issue 5) --
export { MultiPipeServer, PAIR_NAME_PATTERN } from './multi/multi-pipe-server';
export type {
  AddPairOptions,
  MultiPipeServerEvents,
  MultiPipeServerOptions,
  MultiPipeServerState,
  PairHandler,
  PipePairInfo,
} from './multi/types';
export { PluginHost, spawnPlugin, type SpawnPluginOptions } from './plugin/plugin-host';
export { Plugin } from './plugin/plugin';
export type {
  PluginEvents,
  PluginExit,
  PluginHostEvents,
  PluginHostOptions,
  PluginHostState,
  PluginOptions,
  PluginRestartOptions,
  PluginState,
} from './plugin/types';
