/**
 * The dashboard page: one HTML document with its style and script inlined
 * (shipped inside the package's JavaScript: nothing to build or fetch, works
 * offline), served with a Content-Security-Policy that allows exactly that
 * style and that script (by hash) and requests to this origin only.
 */
import { createHash } from 'node:crypto';
import { DASHBOARD_SCRIPT } from './page-script';
import { DASHBOARD_STYLE } from './page-style';

const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

export const DASHBOARD_CSP = [
  "default-src 'none'",
  `script-src ${sha256(DASHBOARD_SCRIPT)}`,
  `style-src ${sha256(DASHBOARD_STYLE)}`,
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pipe-io-server hub</title>
<link rel="icon" href="data:,">
<style>${DASHBOARD_STYLE}</style>
</head>
<body>
<header>
  <h1>hub <span id="hub-id">…</span></h1>
  <span class="dim" id="hub-version"></span>
  <span class="dim" id="uptime"></span>
  <span class="badge" id="live-badge">…</span>
  <span class="badge" id="ready-badge">…</span>
  <span class="badge" id="conn">connecting</span>
</header>
<main>
  <section class="wide"><h2>Now</h2><div class="cards" id="cards"></div></section>
  <section class="wide"><h2>Events</h2>
    <table><thead><tr><th>channel</th><th>event</th><th>providers (calls in flight)</th><th>kind</th><th class="n">calls/s</th><th class="n">p50</th><th class="n">p99</th><th class="n">calls</th></tr></thead><tbody id="events"></tbody></table>
  </section>
  <section><h2>Channels</h2>
    <table><thead><tr><th>channel</th><th>owner</th><th>members</th><th>password</th><th class="n">openers</th></tr></thead><tbody id="channels"></tbody></table>
    <p class="note" id="truncated"></p>
  </section>
  <section><h2>Topics</h2>
    <table><thead><tr><th>channel</th><th>topic</th><th>owner</th><th class="n">subscribers</th></tr></thead><tbody id="topics"></tbody></table>
  </section>
  <section><h2>Federation</h2><p id="federation">…</p>
    <h2>Plugins</h2>
    <table><thead><tr><th>command</th><th>provides</th><th>instances (pid)</th><th class="n">restarts</th></tr></thead><tbody id="plugins"></tbody></table>
  </section>
  <section><h2>Call an event</h2>
    <form id="call-form">
      <div class="row">
        <label>channel<input id="call-channel" list="known-channels" autocomplete="off" required></label>
        <label>event<input id="call-event" autocomplete="off" required></label>
        <label class="check"><span>stream</span><input type="checkbox" id="call-stream"></label>
      </div>
      <label>data (JSON)<textarea id="call-data" spellcheck="false">{}</textarea></label>
      <div class="row"><button id="call-submit" type="submit" disabled>Call</button><span class="note" id="call-note"></span></div>
      <div class="error" id="call-error"></div>
      <pre id="call-result"></pre>
      <details><summary class="note">parameter schema</summary><pre id="call-schema">(pick an event)</pre></details>
    </form>
    <datalist id="known-channels"></datalist>
  </section>
  <section><h2>Tail a topic</h2>
    <div class="row">
      <label>channel<input id="tail-channel" autocomplete="off"></label>
      <label>topic<input id="tail-topic" autocomplete="off"></label>
      <button id="tail-start" type="button" disabled>Tail</button>
      <button id="tail-stop" type="button" class="secondary">Stop</button>
    </div>
    <p class="note" id="tail-state"></p>
    <pre id="tail-output"></pre>
  </section>
</main>
<script>${DASHBOARD_SCRIPT}</script>
</body>
</html>
`;
