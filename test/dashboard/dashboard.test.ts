/**
 * The dashboard in headless Chromium: it loads with no console errors, shows
 * a channel and the provider the test made, updates the call rate while the
 * test calls, calls an event from the form and shows the result, refuses bad
 * JSON and data that breaks the event's schema, and tails a topic.
 * Screenshots of each state go to .tmp/dashboard/.
 */
import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { clientCalls } from '../../lib/dashboard/calls';
import { hubHttpHandler, serveHttp } from '../../lib/dashboard/hub-http';
import type { HubChannel } from '../../lib/hub/client';
import { ClientFixture } from '../hub/client-fixture';
import { artifact, haveChromium, launch } from './browser';

/** The page's document, as the functions run in the browser see it (the tests compile without the DOM library). */
interface PageElement {
  textContent: string | null;
}
declare const document: { getElementById(id: string): PageElement | null; querySelector(selector: string): PageElement | null };

describe('dashboard in headless Chromium', function () {
  this.timeout(90000);
  let fx: ClientFixture;
  let stopHttp: (() => Promise<void>) | undefined;
  let browser: Awaited<ReturnType<typeof launch>> | undefined;
  let page: Page;
  let math: HubChannel;
  const problems: string[] = [];
  let base = '';

  before(async function () {
    if (!haveChromium()) this.skip(); // .ci/run installs Debian's chromium
    fx = await ClientFixture.start();
    const prov = await fx.client({ clientId: 'adder' });
    math = await prov.open('math');
    await math.addEvent(
      'add',
      (msg) => {
        const d = msg.data as { a: number; b: number };
        return d.a + d.b;
      },
      { parameters: { type: 'object', required: ['a', 'b'], properties: { a: { type: 'number' }, b: { type: 'number' } } } },
    );
    await math.addSubscription('ticks');
    const calls = clientCalls(() => fx.client({ clientId: 'dashboard' }));
    const served = await serveHttp(hubHttpHandler({ hub: fx.hub, calls, allowCalls: true }), { port: 0 });
    base = `http://127.0.0.1:${served.port}/`;
    stopHttp = async () => {
      await calls.close();
      await served.close();
    };
    browser = await launch();
    page = await browser.context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  });

  after(async () => {
    await browser?.close();
    await stopHttp?.();
    await fx?.stop();
  });

  it('loads with no console errors and shows the channel and its provider', async () => {
    await page.goto(base);
    await page.waitForFunction(() => document.getElementById('hub-id')?.textContent === 'hub-1');
    const row = page.locator('#events tr[data-key="math:add"]');
    await row.waitFor();
    expect(await row.textContent()).to.include('adder');
    const channel = page.locator('#channels tr[data-channel="math"]');
    await channel.waitFor();
    expect(await channel.textContent()).to.include('adder [unix]');
    expect(await page.locator('#ready-badge').textContent()).to.equal('ready');
    await page.screenshot({ path: artifact('1-loaded.png'), fullPage: true });
    expect(problems).to.deep.equal([]);
  });

  it('updates the call rate while calls are made', async () => {
    const caller = await fx.client({ clientId: 'caller' });
    const m = await caller.open('math');
    let calling = true;
    let made = 0;
    const load = (async () => {
      while (calling) {
        await m.call('add', { a: 1, b: made++ });
        await new Promise((r) => setImmediate(r));
      }
    })();
    try {
      await page.waitForFunction(() => {
        const cell = document.querySelector('#events tr[data-key="math:add"] td.rate');
        return cell !== null && Number.parseFloat(cell.textContent ?? '0') > 0;
      }, undefined, { timeout: 15000 });
      await page.screenshot({ path: artifact('2-calls.png'), fullPage: true });
    } finally {
      calling = false;
      await load;
    }
    const total = await page.locator('#events tr[data-key="math:add"] td.total').textContent();
    expect(Number.parseFloat(total ?? '0')).to.be.greaterThan(0);
    expect(made).to.be.greaterThan(0);
  });

  it('calls an event from the form and shows the result', async () => {
    await page.locator('#events tr[data-key="math:add"]').click();
    expect(await page.locator('#call-channel').inputValue()).to.equal('math');
    expect(await page.locator('#call-schema').textContent()).to.include('"required"');
    await page.locator('#call-data').fill('{"a": 20, "b": 22}');
    await page.locator('#call-submit').click();
    await page.waitForFunction(() => document.getElementById('call-result')?.textContent === '42');
    expect(await page.locator('#call-result').getAttribute('class')).to.equal('okc');
    await page.screenshot({ path: artifact('3-call.png'), fullPage: true });
  });

  it('shows a validation error for bad JSON and for data the schema refuses, without calling', async () => {
    const before = fx.hub.metrics().metrics.find((f) => f.name === 'pipeio_hub_calls_total');
    const count = (): number => {
      const f = fx.hub.metrics().metrics.find((x) => x.name === 'pipeio_hub_calls_total');
      return f && f.type !== 'histogram' ? f.samples.reduce((a, x) => a + x.value, 0) : 0;
    };
    const n0 = before ? count() : 0;
    await page.locator('#call-data').fill('{"a": 1,');
    await page.locator('#call-submit').click();
    await page.waitForFunction(() => (document.getElementById('call-error')?.textContent ?? '').startsWith('Invalid JSON'));
    await page.screenshot({ path: artifact('4-bad-json.png'), fullPage: true });
    await page.locator('#call-data').fill('{"a": "one"}');
    await page.locator('#call-submit').click();
    await page.waitForFunction(() => (document.getElementById('call-error')?.textContent ?? '').includes('schema'));
    const text = await page.locator('#call-error').textContent();
    expect(text).to.include('data.a: expected number');
    expect(text).to.include('"b" is required');
    expect(count()).to.equal(n0);
  });

  it('tails a topic', async () => {
    await page.locator('#tail-channel').fill('math');
    await page.locator('#tail-topic').fill('ticks');
    await page.locator('#tail-start').click();
    await page.waitForFunction(() => document.getElementById('tail-state')?.textContent === 'tailing');
    for (let n = 1; n <= 3; n++) await math.publish('ticks', { n });
    await page.waitForFunction(() => (document.getElementById('tail-output')?.textContent ?? '').includes('{"n":3}'));
    const out = (await page.locator('#tail-output').textContent()) ?? '';
    expect(out.indexOf('{"n":1}')).to.be.lessThan(out.indexOf('{"n":2}'));
    await page.waitForFunction(() => document.querySelector('#topics tr[data-topic="math:ticks"]')?.textContent?.includes('adder') === true);
    await page.screenshot({ path: artifact('5-tail.png'), fullPage: true });
    expect(problems).to.deep.equal([]);
  });

  it('is read-only unless calls are enabled', async () => {
    const served = await serveHttp(hubHttpHandler({ hub: fx.hub }), { port: 0 });
    try {
      const p2 = await browser!.context.newPage();
      await p2.goto(`http://127.0.0.1:${served.port}/`);
      await p2.waitForFunction(() => (document.getElementById('call-note')?.textContent ?? '').startsWith('Read-only'));
      expect(await p2.locator('#call-submit').isDisabled()).to.equal(true);
      const r = await fetch(`http://127.0.0.1:${served.port}/api/call`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"channel":"math","event":"add","data":{"a":1,"b":1}}' });
      expect(r.status).to.equal(403);
      await p2.close();
    } finally {
      await served.close();
    }
  });
});
