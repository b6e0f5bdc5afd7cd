/** Plugins as hub members (docs/hub-plugins.md). */
export { attachPlugin, startHubPlugin } from './attach';
export { HubPlugin, type HubPluginEvents, type HubPluginState } from './hub-plugin';
export type { HubPluginOptions } from './options';
export type { PluginLineMode } from './line-protocol';
export { toJsonText, fromJsonText } from './json-value';
export { socketLinks, type SocketLinkOptions } from './socket-link';
