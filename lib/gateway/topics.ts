/**
 * Topics over HTTP (comm-ipc's `add_subscription`, plus publishing):
 *
 *   GET  .../topics/{topic}   SSE: one `data:` event per publication (`id:` counts them), until the reader leaves
 *   POST .../topics/{topic}   JSON body = the publication (only for topics this gateway declared: 403 otherwise)
 *
 * `?limit=N` ends the SSE stream after N publications (comm-ipc's gateway
 * reads the same parameter). A reader leaving drops its share of the hub
 * subscription at once; the last one leaving unsubscribes.
 */
import type { GatewayContext } from './context';
import { isJsonContentType, parseJsonBody, readBody } from './body';
import { httpError, sendError } from './http-errors';
import type { RouteContext } from './router';
import { SseWriter, sseFrame } from './sse';
import { compileValidator } from './validate';
import { validationError } from '../schema/issues';

/** Follows a topic as SSE. */
export async function handleSubscribe(gw: GatewayContext, rc: RouteContext, channelName: string, topic: string): Promise<void> {
  const { res } = rc;
  const limitText = rc.query.get('limit');
  const limit = limitText === null ? Infinity : Number(limitText);
  try {
    if (!(limit > 0 && Number.isInteger(limit) || limit === Infinity)) {
      throw httpError(400, 'PIPEIO_ERR_INVALID_MESSAGE', 'limit must be a positive integer');
    }
    const ch = await gw.hub.channel(channelName);
    let writer: SseWriter | undefined;
    let seen = 0;
    let remove: (() => void) | undefined;
    let ended = false;
    const done = (): void => {
      ended = true;
      remove?.();
    };
    res.once('close', done);
    remove = await gw.fanout.add(ch, topic, (_json, sse) => {
      if (!writer?.open) return;
      if (!writer.write(sse())) return done();
      if (++seen >= limit) {
        writer.end(sseFrame(JSON.stringify({ messages: seen }), 'end'));
        done();
      }
    });
    if (ended || res.destroyed) {
      remove();
      return;
    }
    writer = new SseWriter(res, gw.options.maxBufferedBytes, gw.options.keepAlive, () => {
      gw.counters.slowReadersCut++;
      done();
    });
  } catch (err) {
    gw.counters.errors++;
    sendError(res, err);
  }
}

/** Publishes the JSON body to a topic the gateway owns. */
export async function handlePublish(gw: GatewayContext, rc: RouteContext, channelName: string, topic: string): Promise<void> {
  const { res } = rc;
  try {
    if (!gw.hub.ownsTopic(channelName, topic)) {
      throw httpError(403, 'PIPEIO_ERR_FORBIDDEN', `this gateway does not own topic ${channelName}:${topic} (only its owner may publish)`);
    }
    if (!isJsonContentType(rc.req)) throw httpError(415, 'PIPEIO_ERR_INVALID_MESSAGE', 'the request body must be application/json');
    const data = parseJsonBody(await readBody(rc.req, gw.options.bodyLimit));
    const ch = await gw.hub.channel(channelName);
    const schema = gw.hub.catalog.topics(channelName).find((t) => t.name === topic)?.schema;
    const validate = compileValidator(schema);
    const issues = validate ? validate(data) : [];
    if (issues.length > 0) throw validationError(`invalid data for ${channelName}:${topic}`, issues);
    await ch.publish(topic, data);
    res.writeHead(204).end();
  } catch (err) {
    gw.counters.errors++;
    sendError(res, err);
  }
}
