/**
 * Hub metrics: every counter moves as the scripted scenario expects; the
 * Prometheus text parses with a real parser and passes `promtool check
 * metrics`; the same figures come over the hub protocol and through a
 * prom-client registry; cardinality stays bounded.
 */
import { expect } from 'chai';
import { Registry } from 'prom-client';
import { HubClient } from '../../lib/hub/client/hub-client';
import { Hub } from '../../lib/hub/server/hub';
import { renderPrometheus } from '../../lib/metrics/prometheus';
import { clientSource } from '../../lib/metrics/source';
import { ClientFixture } from '../hub/client-fixture';
import { RawClient } from '../hub/raw-client';
import { parseText, promtool, promtoolCheck, valueOf } from './prom-parse';
import { runScenario, type Scenario } from './scenario';

describe('hub metrics', function () {
  this.timeout(60000);

  describe('the scripted scenario', () => {
    let s: Scenario;
    let text: string;
    before(async () => {
      s = await runScenario();
      text = renderPrometheus(s.fx.hub.metrics().metrics);
    });
    after(async () => {
      await s?.stop();
    });

    it('counts calls by channel, event and outcome, streams and chunks, and their latency', () => {
      const p = parseText(text);
      const calls = (channel: string, event: string, outcome: string): number | undefined => valueOf(p, 'pipeio_hub_calls_total', { channel, event, outcome });
      expect(calls('math', 'add', 'ok')).to.equal(5);
      expect(calls('math', 'fail', 'remote_error')).to.equal(1);
      expect(calls('math', 'strict', 'validation')).to.equal(1);
      expect(calls('math', 'nope', 'no_provider')).to.equal(1);
      expect(calls('math', 'count', 'ok')).to.equal(1);
      expect(calls('plug', 'hang', 'timeout')).to.equal(1);
      expect(calls('plug', 'crash', 'provider_gone')).to.equal(1);
      expect(calls('vault', 'open', 'refused')).to.equal(1);
      expect(calls('math', 'slow', 'abandoned')).to.equal(2); // the leaver's and the cancelled one
      expect(calls('math', 'slow', 'provider_gone')).to.equal(1);
      expect(calls('math', 'add', 'remote_error')).to.equal(undefined); // zero series are left out
      expect(valueOf(p, 'pipeio_hub_streams_total', { channel: 'math', event: 'count', outcome: 'ok' })).to.equal(1);
      expect(valueOf(p, 'pipeio_hub_stream_chunks_total', { channel: 'math', event: 'count' })).to.equal(3);
      // parse-prometheus-text-format flattens labelled histograms (promtool below parses them): read the JSON
      expect(p.find((f) => f.name === 'pipeio_hub_call_duration_seconds')!.type).to.equal('HISTOGRAM');
      const h = s.fx.hub.metrics().metrics.find((f) => f.name === 'pipeio_hub_call_duration_seconds')!;
      if (h.type !== 'histogram') throw new Error('not a histogram');
      const add = h.samples.find((x) => x.labels['event'] === 'add')!;
      expect(add.count).to.equal(5);
      expect(add.buckets.at(-1)).to.equal(5);
      expect(add.buckets).to.have.length(h.bounds.length + 1);
      expect(add.sum).to.be.greaterThan(0).and.lessThan(5);
      expect(text).to.include('pipeio_hub_call_duration_seconds_count{channel="math",event="add"} 5\n');
      expect(text).to.include('pipeio_hub_call_duration_seconds_bucket{channel="math",event="add",le="+Inf"} 5\n');
      expect(valueOf(p, 'pipeio_hub_pending_calls')).to.equal(0);
    });

    it('counts broadcasts, sends and publications by outcome, and the members they reached', () => {
      const p = parseText(text);
      expect(valueOf(p, 'pipeio_hub_broadcasts_total', { channel: 'math', event: 'hello', outcome: 'ok' })).to.equal(1);
      expect(valueOf(p, 'pipeio_hub_sends_total', { channel: 'math', event: 'add', outcome: 'ok' })).to.equal(1);
      expect(valueOf(p, 'pipeio_hub_sends_total', { channel: 'math', event: 'nobody', outcome: 'no_provider' })).to.equal(1);
      expect(valueOf(p, 'pipeio_hub_publications_total', { channel: 'math', topic: 'ticks', outcome: 'ok' })).to.equal(1);
      expect(valueOf(p, 'pipeio_hub_publications_total', { channel: 'math', topic: 'ticks', outcome: 'refused' })).to.equal(1);
      expect(valueOf(p, 'pipeio_hub_deliveries_total', { kind: 'broadcast' })).to.be.at.least(2 + 1); // prov + listener, then the flood
      expect(valueOf(p, 'pipeio_hub_deliveries_total', { kind: 'send' })).to.equal(1);
      expect(valueOf(p, 'pipeio_hub_deliveries_total', { kind: 'publish' })).to.equal(1);
    });

    it('counts connections, traffic, slow consumers, refusals, errors, plugins and tables', () => {
      const p = parseText(text);
      expect(valueOf(p, 'pipeio_hub_connections_opened_total', { transport: 'unix' })).to.be.at.least(9);
      expect(valueOf(p, 'pipeio_hub_connections_opened_total', { transport: 'tcp' })).to.equal(0);
      expect(valueOf(p, 'pipeio_hub_connections', { transport: 'unix' })).to.equal(s.fx.hub.stats().connections);
      expect(valueOf(p, 'pipeio_hub_clients', { transport: 'in_process' })).to.equal(2); // the two plugins
      expect(valueOf(p, 'pipeio_hub_received_bytes_total')).to.be.greaterThan(1024 * 1024); // the flood
      expect(valueOf(p, 'pipeio_hub_received_frames_total')).to.be.greaterThan(30);
      expect(valueOf(p, 'pipeio_hub_sent_bytes_total')).to.be.greaterThan(0);
      expect(valueOf(p, 'pipeio_hub_sent_frames_total')).to.be.greaterThan(30);
      expect(valueOf(p, 'pipeio_hub_slow_consumers_total')).to.equal(1);
      expect(valueOf(p, 'pipeio_hub_client_errors_total', { code: 'PIPEIO_ERR_SLOW_CONSUMER' })).to.equal(1);
      expect(valueOf(p, 'pipeio_hub_auth_refusals_total', { stage: 'message' })).to.equal(1);
      expect(valueOf(p, 'pipeio_hub_auth_refusals_total', { stage: 'channel' })).to.equal(1);
      expect(valueOf(p, 'pipeio_hub_auth_refusals_total', { stage: 'connection' })).to.equal(0);
      expect(valueOf(p, 'pipeio_hub_plugin_restarts_total', { channel: 'plug', event: 'crash' })).to.be.at.least(1);
      expect(valueOf(p, 'pipeio_hub_plugin_instances', { channel: 'plug', event: 'hang' })).to.equal(1);
      expect(valueOf(p, 'pipeio_hub_channels')).to.equal(s.fx.hub.stats().channels);
      expect(valueOf(p, 'pipeio_hub_events')).to.equal(s.fx.hub.stats().events);
      expect(valueOf(p, 'pipeio_hub_topics')).to.equal(1);
      expect(valueOf(p, 'pipeio_hub_subscribers')).to.equal(1);
      expect(valueOf(p, 'pipeio_hub_info', { server_id: 'hub-1' })).to.equal(1);
      expect(valueOf(p, 'pipeio_hub_ready')).to.equal(1);
    });

    it('passes promtool check metrics', function () {
      if (!promtool()) this.skip(); // Debian's `prometheus` package provides it (.ci/run installs it)
      const r = promtoolCheck(text);
      expect(r.status, r.output).to.equal(0);
      expect(r.output.trim(), r.output).to.equal('');
    });

    it('gives the same snapshot over the hub protocol (a stats call into __comm_ipc_system), with topology', async () => {
      const c = await s.fx.client({ clientId: 'watcher' });
      const snap = await clientSource(c).snapshot({ topology: true });
      expect(snap.serverId).to.equal('hub-1');
      expect(snap.health.live).to.equal(true);
      const p = parseText(renderPrometheus(snap.metrics));
      expect(valueOf(p, 'pipeio_hub_calls_total', { channel: 'math', event: 'add', outcome: 'ok' })).to.equal(5);
      const add = snap.topology!.events.find((e) => e.event === 'add')!;
      expect(add.providers.map((x) => x.id)).to.deep.equal(['prov']);
      const vault = snap.topology!.channels.find((ch) => ch.name === 'math')!;
      expect(vault.passwordSet).to.equal(false);
      expect(JSON.stringify(snap)).to.not.include('"pw"'); // never a password
      expect(snap.topology!.queues.length).to.be.greaterThan(0);
      expect(snap.topology!.queues.map((q) => q.transport)).to.include('unix');
      expect(snap.topology!.queues.map((q) => q.id)).to.include('watcher');
      const plug = snap.topology!.plugins.find((x) => x.event === 'crash')!;
      expect(plug.restarts).to.be.at.least(1);
    });
  });

  it('registers into a prom-client registry: one scrape returns the app metrics and ours; removed on stop', async () => {
    const registry = new Registry();
    const fx = await ClientFixture.start({ metrics: { registry } });
    try {
      const p = await fx.client({ clientId: 'p' });
      await (await p.open('m')).addEvent('e', () => 1);
      const c = await fx.client({ clientId: 'c' });
      await (await c.open('m')).call('e', null);
      const text = await registry.metrics();
      const parsed = parseText(text);
      expect(valueOf(parsed, 'pipeio_hub_calls_total', { channel: 'm', event: 'e', outcome: 'ok' })).to.equal(1);
      expect(text).to.include('pipeio_hub_call_duration_seconds_count{channel="m",event="e"} 1\n');
      if (promtool()) expect(promtoolCheck(text).status).to.equal(0);
      const json = await registry.getMetricsAsJSON();
      expect(json.some((m) => m.name === 'pipeio_hub_connections')).to.equal(true);
    } finally {
      await fx.stop();
    }
    expect(await registry.metrics()).to.not.include('pipeio_hub_');
  });

  it('folds channel/event pairs beyond maxSeries into "other"; failures take at most a quarter', async () => {
    const fx = await ClientFixture.start({ metrics: { maxSeries: 8 } });
    try {
      const junk = await RawClient.identified({ path: fx.socketPath }, 'junk');
      for (let i = 0; i < 20; i++) junk.send({ type: 'call', channel: 'x', event: `junk${i}`, request_id: `j${i}`, data: null });
      for (let i = 0; i < 20; i++) await junk.nextOf('response', `j${i}`);
      const p = await fx.client({ clientId: 'p' });
      const ch = await p.open('m');
      for (let i = 0; i < 10; i++) await ch.addEvent(`e${i}`, () => i);
      const c = await fx.client({ clientId: 'c' });
      const cm = await c.open('m');
      for (let i = 0; i < 10; i++) await cm.call(`e${i}`, null);
      // a channel name that needs escaping in the exposition
      junk.send({ type: 'call', channel: 'we"ird\\\nname', event: 'x', request_id: 'w', data: null });
      await junk.nextOf('response', 'w');
      junk.close();
      const text = renderPrometheus(fx.hub.metrics().metrics);
      const parsed = parseText(text);
      expect(valueOf(parsed, 'pipeio_hub_series')).to.equal(8);
      const calls = parsed.find((f) => f.name === 'pipeio_hub_calls_total')!.metrics;
      expect(calls.filter((m) => m.labels?.['channel'] === 'x')).to.have.length(2); // 8 / 4 junk pairs
      expect(calls.filter((m) => m.labels?.['channel'] === 'm')).to.have.length(6);
      const other = calls.find((m) => m.labels?.['channel'] === 'other' && m.labels?.['outcome'] === 'ok')!;
      expect(Number(other.value)).to.equal(4);
      expect(valueOf(parsed, 'pipeio_hub_calls_total', { channel: 'other', event: 'other', outcome: 'no_provider' })).to.equal(18 + 1);
      expect(valueOf(parsed, 'pipeio_hub_series_folded_total')).to.equal(18 + 4 + 1);
      if (promtool()) expect(promtoolCheck(text).status, promtoolCheck(text).output).to.equal(0);
    } finally {
      await fx.stop();
    }
  });

  it('escapes label values and help text so that any channel name parses', () => {
    const text = renderPrometheus([
      { name: 'x_total', help: 'a \\ b\nc', type: 'counter', samples: [{ labels: { channel: 'we"ird\\\nname' }, value: 1 }] },
    ]);
    const parsed = parseText(text);
    expect(parsed[0]!.metrics[0]!.labels!['channel']).to.equal('we"ird\\\nname');
    if (promtool()) expect(promtoolCheck(text).status).to.equal(0);
  });

  it('with metrics: false, keeps none (metrics() throws, the stats call is refused) and still reports health', async () => {
    const fx = await ClientFixture.start({ metrics: false });
    try {
      expect(() => fx.hub.metrics()).to.throw().with.property('code', 'PIPEIO_ERR_INVALID_STATE');
      expect(fx.hub.health()).to.include({ live: true, ready: true });
      const c = await fx.client({ clientId: 'c' });
      const err = await clientSource(c)
        .snapshot()
        .then(
          () => undefined,
          (e: { code?: string }) => e,
        );
      expect(err?.code).to.equal('PIPEIO_ERR_RESERVED');
    } finally {
      await fx.stop();
    }
  });

  it('counts a refused connection secret as an auth refusal at the connection', async () => {
    const fx = await ClientFixture.start({ secret: 'sesame' });
    try {
      const c = new HubClient(fx.address, { clientId: 'bad', secret: 'wrong', autoReconnect: false });
      c.on('error', () => undefined);
      await c.connect().then(
        () => expect.fail('connected with a wrong secret'),
        (e: { code?: string }) => expect(e.code).to.equal('PIPEIO_ERR_AUTH'),
      );
      await c.close();
      const p = parseText(renderPrometheus(fx.hub.metrics().metrics));
      expect(valueOf(p, 'pipeio_hub_auth_refusals_total', { stage: 'connection' })).to.equal(1);
    } finally {
      await fx.stop();
    }
  });

  it('reports a federated hub whose NATS link is down as live but not ready, with federation gauges', async () => {
    const hub = new Hub({ nats: { servers: '127.0.0.1:1' } });
    hub.on('clientError', () => undefined);
    hub.on('cluster', () => undefined);
    try {
      await hub.listen({ host: '127.0.0.1', port: 0 });
      const h = hub.health();
      expect(h.live).to.equal(true);
      expect(h.ready).to.equal(false);
      expect(h.checks.find((c) => c.name === 'federation')).to.include({ ok: false });
      const p = parseText(renderPrometheus(hub.metrics().metrics));
      expect(valueOf(p, 'pipeio_hub_federation_link_up')).to.equal(0);
      expect(valueOf(p, 'pipeio_hub_federation_peers')).to.equal(0);
      expect(valueOf(p, 'pipeio_hub_ready')).to.equal(0);
    } finally {
      await hub.stop();
    }
  });
});
