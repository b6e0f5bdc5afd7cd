/**
 * attachPlugin: a plugin process as a member of an in-process hub.
 */
import type { HubCore } from '../server/core';
import { HubPlugin } from './hub-plugin';
import { coreLinks, type LinkFactory } from './member-link';
import type { HubPluginOptions } from './options';

/**
 * Starts `command` (with `args`) as `options.instances` supervised plugin
 * processes, each a member of the hub whose routing core is `core` and the
 * provider of `options.channel`:`options.event`. Resolves once every
 * instance is registered and running; rejects with the hub's refusal
 * (`PIPEIO_ERR_CONFLICT`, `PIPEIO_ERR_AUTH`, `PIPEIO_ERR_ID_IN_USE`, ...),
 * `PIPEIO_ERR_SPAWN`, or TypeError/RangeError for bad options.
 */
export async function attachPlugin(
  core: HubCore,
  command: string,
  args: readonly string[],
  options: HubPluginOptions,
): Promise<HubPlugin> {
  return startHubPlugin(coreLinks(core), command, args, options);
}

/** Starts a HubPlugin on any kind of hub link (in-process core, remote socket). */
export async function startHubPlugin(
  links: LinkFactory,
  command: string,
  args: readonly string[],
  options: HubPluginOptions,
): Promise<HubPlugin> {
  const plugin = new HubPlugin(links, command, args, options);
  await plugin.start();
  return plugin;
}
