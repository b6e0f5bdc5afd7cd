import { expect } from 'chai';
import { waitFor } from '../fixtures/helpers';
import { PluginFixture } from './fixture';
import { PYTHON } from '../fixtures/python-env';
import { needsTools } from '../fixtures/tools';

/** Prelude of the inline Python plugins: recv() a line as a dict, send(dict) a line. */
const PRELUDE = `
import json, os, sys
rd = open(os.environ["PIPE_IO_READ_PIPE"], "rb")
wr = open(os.environ["PIPE_IO_WRITE_PIPE"], "wb", buffering=0)
def recv():
    line = rd.readline()
    if not line:
        sys.exit(0)
    return json.loads(line)
def send(obj):
    wr.write(json.dumps(obj).encode() + b"\\n")
def log(obj):
    print(json.dumps(obj), file=sys.stderr, flush=True)
`;

describe('Hub plugins: rpc mode', function () {
  this.timeout(20000);
  before(needsTools('python3'));
  let fx: PluginFixture;

  beforeEach(async () => {
    fx = new PluginFixture();
    await fx.start();
  });
  afterEach(() => fx.stop());

  const py = (body: string, options: Parameters<PluginFixture['attach']>[2]) => fx.attach(PYTHON, ['-c', PRELUDE + body], { mode: 'rpc', ...options });

  it('calls carry request ids, so answers may come out of order', async () => {
    await py(
      `
while True:
    a = recv(); b = recv()
    send({"type": "response", "request_id": b["request_id"], "data": b["data"] * 10})
    send({"type": "response", "request_id": a["request_id"], "data": a["data"] * 10})
`,
      { channel: 'c', event: 'x10' },
    );
    const caller = await fx.client('caller');
    caller.send({ type: 'call', request_id: 'one', channel: 'c', event: 'x10', data: 1 });
    caller.send({ type: 'call', request_id: 'two', channel: 'c', event: 'x10', data: 2 });
    const first = await caller.nextOf('response');
    const second = await caller.nextOf('response');
    expect([first['request_id'], first['data']]).to.deep.equal(['two', 20]);
    expect([second['request_id'], second['data']]).to.deep.equal(['one', 10]);
  });

  it('the call line has a fixed key order with data last', async () => {
    await py(
      `
while True:
    m = recv()
    log(m)
    send({"type": "response", "request_id": m["request_id"], "data": None})
`,
      { channel: 'c', event: 'e' },
    );
    const lines: string[] = [];
    fx.plugins[0]!.on('stderr', (l) => lines.push(l));
    const caller = await fx.client('caller');
    await fx.call(caller, 'c', 'e', { k: [1, 'two'] });
    await waitFor(() => lines.length > 0, 'the logged line');
    expect(Object.keys(JSON.parse(lines[0]!))).to.deep.equal(['type', 'request_id', 'channel', 'event', 'sender_id', 'data']);
  });

  it('streams: chunks with is_final false, then the end marker', async () => {
    await py(
      `
while True:
    m = recv()
    for i in range(m["data"]):
        send({"type": "response", "request_id": m["request_id"], "data": i, "is_final": False})
    send({"type": "response", "request_id": m["request_id"], "is_final": True})
`,
      { channel: 'c', event: 'count', stream: true },
    );
    const caller = await fx.client('caller');
    caller.send({ type: 'call', request_id: 's', channel: 'c', event: 'count', data: 3, is_stream: true, is_final: false });
    const got: unknown[] = [];
    for (;;) {
      const f = await caller.nextOf('response', 's');
      expect(f['is_stream']).to.equal(true);
      if (f['is_final'] === true) {
        expect(f['data']).to.equal(null);
        break;
      }
      got.push(f['data']);
    }
    expect(got).to.deep.equal([0, 1, 2]);
  });

  it('a plugin calls another member, and gets its reply by request id', async () => {
    const upper = await fx.client('upper-provider');
    await upper.provide('text', 'upper');
    await py(
      `
while True:
    m = recv()
    if m["type"] == "call":
        send({"type": "call", "request_id": "out-1", "channel": "text", "event": "upper", "data": m["data"]})
        r = recv()
        send({"type": "response", "request_id": m["request_id"], "data": {"via": r["request_id"], "got": r["data"]}})
`,
      { channel: 'c', event: 'shout' },
    );
    const caller = await fx.client('caller');
    const pending = fx.call(caller, 'c', 'shout', 'hi');
    const call = await upper.nextOf('call');
    upper.send({ type: 'response', request_id: call['request_id'], target_id: call['sender_id'], data: String(call['data']).toUpperCase() });
    const res = await pending;
    expect(res['data']).to.deep.equal({ via: 'out-1', got: 'HI' });
  });

  it('a call out that nobody answers times out with PIPEIO_ERR_TIMEOUT', async () => {
    const silent = await fx.client('silent');
    await silent.provide('c', 'silent');
    await py(
      `
send({"type": "call", "request_id": "q", "channel": "c", "event": "silent", "data": 1, "timeout": 200})
log(recv())
`,
      { channel: 'c' },
    );
    const lines: string[] = [];
    fx.plugins[0]!.on('stderr', (l) => lines.push(l));
    await waitFor(() => lines.length > 0, 'the timeout line', 5000);
    expect(JSON.parse(lines[0]!)).to.include({ type: 'response', request_id: 'q', code: 'PIPEIO_ERR_TIMEOUT' });
  });

  it('publishes to a topic it declared, and receives broadcasts and publications', async () => {
    const other = await fx.client('other');
    await other.open('news');
    other.send({ type: 'subscribe', request_id: 'sub', channel: 'news', sub_name: 'plugin-topic' });
    await other.nextOf('response', 'sub');
    other.send({ type: 'add_subscription', request_id: 'add', channel: 'news', sub_name: 'other-topic', return_schema: null });
    await other.nextOf('response', 'add');
    await py(
      `
send({"type": "open", "request_id": "o", "channel": "news"}); log(recv())
send({"type": "add_subscription", "request_id": "a", "channel": "news", "sub_name": "plugin-topic"}); log(recv())
send({"type": "subscribe", "request_id": "s", "channel": "news", "sub_name": "other-topic"}); log(recv())
send({"type": "publish", "channel": "news", "sub_name": "plugin-topic", "data": {"headline": "plugins join the hub"}})
while True:
    log(recv())
`,
      { channel: 'news' },
    );
    const lines: Record<string, unknown>[] = [];
    fx.plugins[0]!.on('stderr', (l) => lines.push(JSON.parse(l) as Record<string, unknown>));
    const pub = await other.next((f) => f['type'] === 'receive' && f['event'] === 'subscription.plugin-topic.data');
    expect(pub).to.include({ channel: 'news', sender_id: fx.plugins[0]!.ids[0] });
    expect(pub['data']).to.deep.equal({ headline: 'plugins join the hub' });
    await waitFor(() => lines.length >= 3, 'the three replies');
    expect(lines.slice(0, 3).map((l) => [l['type'], l['request_id']])).to.deep.equal([
      ['response', 'o'],
      ['response', 'a'],
      ['response', 's'],
    ]);
    other.send({ type: 'publish', channel: 'news', sub_name: 'other-topic', data: 'from other' });
    other.send({ type: 'broadcast', channel: 'news', event: 'hello', data: 'everyone' });
    await waitFor(() => lines.length >= 5, 'the publication and the broadcast');
    expect(lines[3]).to.include({ type: 'receive', event: 'subscription.other-topic.data', data: 'from other' });
    expect(lines[4]).to.include({ type: 'broadcast', event: 'hello', data: 'everyone', sender_id: 'other' });
  });

  it('a plugin broadcasts and sends', async () => {
    const watcher = await fx.client('watcher');
    await watcher.open('room');
    await watcher.provide('room', 'inbox');
    await py(
      `
send({"type": "broadcast", "channel": "room", "event": "hi", "data": [1, 2]})
send({"type": "send", "channel": "room", "event": "inbox", "data": {"$bytes": "AAEC"}})
recv()
`,
      { channel: 'room' },
    );
    const b = await watcher.nextOf('broadcast');
    expect(b['data']).to.deep.equal([1, 2]);
    const s = await watcher.nextOf('send');
    expect(Buffer.from(s['data'] as Uint8Array)).to.deep.equal(Buffer.from([0, 1, 2]));
  });

  it('a line that is not JSON is reported, a bad response fails its call, and serving goes on', async () => {
    await py(
      `
while True:
    m = recv()
    if m["data"] == "garbage":
        wr.write(b"this is not json\\n")
        send({"type": "response", "request_id": m["request_id"], "data": "after garbage"})
    elif m["data"] == "bad":
        send({"type": "response", "request_id": m["request_id"], "is_final": "yes"})
    else:
        send({"type": "response", "request_id": m["request_id"], "data": "ok"})
`,
      { channel: 'c', event: 'e' },
    );
    const caller = await fx.client('caller');
    expect((await fx.call(caller, 'c', 'e', 'garbage'))['data']).to.equal('after garbage');
    await waitFor(() => fx.errors.length > 0, 'the error event');
    expect((fx.errors[0] as { code?: string }).code).to.equal('PIPEIO_ERR_INVALID_JSON');
    const bad = await fx.call(caller, 'c', 'e', 'bad');
    expect(bad['code']).to.equal('PIPEIO_ERR_PROTOCOL');
    expect(bad['error']).to.match(/is_final/);
    expect((await fx.call(caller, 'c', 'e', 'fine'))['data']).to.equal('ok');
  });

  it('provide lines register more events', async () => {
    await py(
      `
send({"type": "provide", "request_id": "p1", "channel": "math", "event": "double"}); recv()
send({"type": "provide", "request_id": "p2", "channel": "math", "event": "square"}); recv()
while True:
    m = recv()
    x = m["data"]
    send({"type": "response", "request_id": m["request_id"], "data": x * 2 if m["event"] == "double" else x * x})
`,
      { channel: 'math' },
    );
    const caller = await fx.client('caller');
    await waitFor(() => fx.hub.routingCore.providers.get('math', 'square'), 'the square provider');
    expect((await fx.call(caller, 'math', 'double', 7))['data']).to.equal(14);
    expect((await fx.call(caller, 'math', 'square', 7))['data']).to.equal(49);
  });

  it('a crash mid-stream fails the stream; the restarted plugin serves again', async () => {
    const plugin = await py(
      `
while True:
    m = recv()
    if m["data"] == "crash":
        send({"type": "response", "request_id": m["request_id"], "data": "first", "is_final": False})
        os._exit(9)
    send({"type": "response", "request_id": m["request_id"], "data": "fine"})
`,
      { channel: 'c', event: 's', stream: true, restart: { initialDelay: 20 } },
    );
    const caller = await fx.client('caller');
    caller.send({ type: 'call', request_id: 'st', channel: 'c', event: 's', data: 'crash', is_stream: true, is_final: false });
    const chunk = await caller.nextOf('response', 'st');
    expect([chunk['data'], chunk['is_final']]).to.deep.equal(['first', false]);
    const end = await caller.nextOf('response', 'st');
    expect(end['code']).to.equal('PIPEIO_ERR_PROVIDER_GONE');
    expect(end['error']).to.match(/exited \(code 9\)/);
    await waitFor(() => plugin.pids[0] !== undefined, 'the restart');
    expect((await fx.call(caller, 'c', 's', 'again'))['data']).to.equal('fine');
  });
});
