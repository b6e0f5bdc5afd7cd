/** A hub on a private socket, plugins attached to it, raw callers: all cleaned up by stop(). */
import { HubFixture } from '../hub/hub-fixture';
import type { RawClient, Frame } from '../hub/raw-client';
import { attachPlugin } from '../../lib/hub/plugins/attach';
import type { HubPlugin } from '../../lib/hub/plugins/hub-plugin';
import type { HubPluginOptions } from '../../lib/hub/plugins/options';

export class PluginFixture extends HubFixture {
  readonly plugins: HubPlugin[] = [];
  readonly errors: Error[] = [];
  readonly stderr: string[] = [];
  private seq = 0;

  async attach(command: string, args: string[], options: HubPluginOptions): Promise<HubPlugin> {
    const plugin = await attachPlugin(this.hub.routingCore, command, args, { stdout: 2, ...options });
    plugin.on('error', (err) => this.errors.push(err));
    plugin.on('stderr', (line) => this.stderr.push(line));
    this.plugins.push(plugin);
    return plugin;
  }

  /** A bash script as a plugin. */
  bash(script: string, options: HubPluginOptions): Promise<HubPlugin> {
    return this.attach('bash', ['-c', script], options);
  }

  /** Calls channel:event with `data` from `client`; resolves with the response frame. */
  async call(client: RawClient, channel: string, event: string, data: unknown, timeout = 5000): Promise<Frame> {
    const rid = `r${++this.seq}`;
    client.send({ type: 'call', request_id: rid, channel, event, data, is_final: true });
    return client.nextOf('response', rid, timeout);
  }

  override async stop(): Promise<void> {
    await Promise.allSettled(this.plugins.map((p) => p.stop()));
    this.plugins.length = 0;
    await super.stop();
  }
}
