// Our declarations use Node's types (Buffer, EventEmitter, Symbol.asyncDispose): the
// reference makes a consumer's compiler load @types/node even where it loads no types by
// itself (TypeScript >= 6 defaults "types" to []).
/// <reference types="node" preserve="true" />
/**
 * pipe-io-server: the public entry point. Everything users may import is
 * listed here explicitly; nothing else is public.
 */
export { PipeIOError, type PipeIOErrorCode } from './errors';
// -- pipe engine (issue 2) --
export { PipeIOServer, PipeReaderServer, PipeWriterServer } from './pipe/server';
export type { PipeServerOptions, PipeServerEvents, PipeServerState, MessageHandlerResult } from './types';
export { LineSplitter, type LineSplitterOptions } from './framing/line-splitter';
export { LineBatch } from './framing/line-batch';
// -- socket, protocol, channel, pidfile (issue 3) --
export {
  JsonLineProtocol,
  JsonLineDecoder,
  encodeJsonLine,
  decodeJsonLineStream,
  DEFAULT_JSON_MAX_LINE_LENGTH,
} from './protocol/json-line';
export type { JsonLineDecoderOptions, DecodeStreamOptions } from './protocol/json-line';
export { UnixServer } from './socket/unix-server';
export type { UnixServerOptions, UnixServerEvents, UnixServerState, JsonLineHandler } from './socket/unix-server';
export { UnixClient } from './socket/unix-client';
export type { UnixClientOptions, UnixClientEvents, UnixClientState, RequestOptions } from './socket/unix-client';
export { maxSocketPathLength, checkSocketPath, probeSocketPath, type SocketPathState } from './socket/socket-path';
export { FifoChannel } from './channel/fifo-channel';
export type { FifoChannelOptions, FifoChannelEvents, ChannelWaitOptions } from './channel/fifo-channel';
export { Pidfile, type PidfileOptions } from './pidfile/pidfile';
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
// -- message hub (issue 8) --
export { Hub } from './hub/server/hub';
export type { HubOptions, HubListenOptions, HubAddress, HubEvents, HubStats, HubState } from './hub/server/hub';
export type { ChannelPolicy, ErrorPolicy } from './hub/server/core';
export type { LbPolicy } from './hub/strategies';
export type { HubMessage } from './hub/protocol/messages';
export { attachPlugin, startHubPlugin, socketLinks, HubPlugin } from './hub/plugins';
export type { HubPluginOptions, HubPluginEvents, HubPluginState, PluginLineMode, SocketLinkOptions } from './hub/plugins';
export { HubBridge } from './hub/bridge/hub-bridge';
export type { HubBridgeOptions, HubBridgeEvents } from './hub/bridge/hub-bridge';
export type { ClusterEvent } from './hub/federation/federation';
export type { ClusterOptions, NatsOptions } from './hub/federation/options';
export { HubClient, HubChannel, HubGroup, HubStream } from './hub/client';
export type {
  AddEventOptions,
  CallContext,
  CallOptions,
  EventHandler,
  ExploredEvent,
  ExploredSubscription,
  ExploreResult,
  HubClientAddress,
  HubClientEvents,
  HubClientOptions,
  HubClientState,
  HubMember,
  ReceiveListener,
  SchemaInfo,
  StreamHandler,
} from './hub/client';
// -- hub metrics, health, dashboard (issue 19) --
export { hubHttpHandler, chainHandlers, serveHttp } from './dashboard/hub-http';
export type { HubHttpOptions, ServeHttpOptions } from './dashboard/hub-http';
export { dashboardHandler, type DashboardOptions } from './dashboard/handler';
export { clientCalls, type DashboardCalls, type CallResult } from './dashboard/calls';
export { metricsHttpHandler, type Authorize, type HttpHandler, type MetricsHttpOptions } from './metrics/http';
export { hubSource, clientSource, type StatsSource } from './metrics/source';
export { renderPrometheus, PROMETHEUS_CONTENT_TYPE } from './metrics/prometheus';
export { computeRates, type EventRate, type HubRates } from './metrics/rates';
export { LATENCY_BUCKETS } from './metrics/histogram';
export type { HubMetricsOptions } from './metrics/hub-metrics';
export type { MetricsSnapshotOptions } from './metrics/hub-snapshot';
export type { HubTopology, TopologyChannel, TopologyEvent, TopologyTopic, TopologyPlugin, TopologyMember } from './metrics/topology';
export type {
  HubMetricsSnapshot,
  MetricFamily,
  MetricSample,
  HistogramSample,
  MetricType,
  HealthReport,
  HealthCheck,
} from './metrics/types';
// -- HTTP gateway (issue 18) --
export { HubGateway } from './gateway';
export type {
  ChannelRef,
  CorsOptions,
  DocBuilder,
  FastifyLike,
  FileHeader,
  GatewayCounters,
  GatewayEvents,
  GatewayListenOptions,
  GatewayOptions,
  GatewaySource,
  GatewayState,
  MountHandler,
  MountOptions,
  PathContributor,
  PathItem,
  RouteContext,
  RouteHandler,
  RouteOptions,
  ValidationIssue,
} from './gateway';
// -- typed events: schemas (issue 17) --
export { compileSchema, jsonSchema, isStandardSchema, hasStandardJsonSchema, validationError, formatPath } from './schema';
export type {
  CompiledSchema,
  InferInput,
  InferOutput,
  JsonSchema,
  JsonSchemaValidator,
  SchemaInput,
  SchemaIssue,
  StandardJSONSchemaV1,
  StandardSchemaV1,
  StandardSchemaWithJson,
  StandardTypedV1,
  ValidationResult,
} from './schema';
// -- typed events: contracts, typed channel, declarative app (issue 17) --
export { defineContract, typedChannel, implement, TypedChannel, TypedApp } from './typed';
export type {
  CallName,
  ContractHandlers,
  ContractSpec,
  EventImpl,
  EventName,
  EventSchemaView,
  EventSpec,
  ParamsInput,
  ParamsOutput,
  PayloadInput,
  PayloadOutput,
  ReturnsInput,
  ReturnsOutput,
  StreamName,
  TopicName,
  TopicSchemaView,
  TopicSpec,
} from './typed';
