/**
 * The dashboard's script (inlined into the page). Plain ES2017 for any
 * current browser, no libraries. Everything from the hub is put in the page
 * with textContent (never as HTML): channel and event names are the
 * clients' and may hold anything. Kept free of backticks and dollar-brace
 * so it can live in this template literal.
 */
export const DASHBOARD_SCRIPT = `
(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  function el(tag, attrs) {
    var e = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) {
      if (k === 'text') e.textContent = attrs[k];
      else if (k === 'cls') e.className = attrs[k];
      else e.setAttribute(k, attrs[k]);
    });
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined) continue;
      e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return e;
  }
  function num(n, d) {
    if (n === undefined || n === null || isNaN(n)) return '-';
    if (Math.abs(n) >= 1e6) return (n / 1e6).toFixed(1) + 'M';
    if (Math.abs(n) >= 1e4) return (n / 1e3).toFixed(1) + 'k';
    return n.toFixed(d === undefined ? 0 : d);
  }
  function bytes(n) {
    var u = ['B', 'KiB', 'MiB', 'GiB'], i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return n.toFixed(i ? 1 : 0) + ' ' + u[i];
  }
  function ms(v) { return v === undefined ? '-' : v < 1 ? (v * 1000).toFixed(0) + ' µs' : v.toFixed(v < 10 ? 2 : 0) + ' ms'; }
  function uptime(s) {
    var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    return (d ? d + 'd ' : '') + (d || h ? h + 'h ' : '') + m + 'm ' + Math.floor(s % 60) + 's';
  }
  function total(snap, name, where) {
    var f = snap.metrics.filter(function (x) { return x.name === name; })[0];
    if (!f || f.type === 'histogram') return 0;
    return f.samples.reduce(function (a, x) {
      return a + (Object.keys(where || {}).every(function (k) { return x.labels[k] === where[k]; }) ? x.value : 0);
    }, 0);
  }
  function fill(tbody, rows) {
    while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
    rows.forEach(function (r) { tbody.appendChild(r); });
  }
  function cells(tr, values) {
    values.forEach(function (v) {
      if (v && v.nodeType) tr.appendChild(v);
      else tr.appendChild(el('td', { text: String(v) }));
    });
    return tr;
  }
  function ncell(text, cls) { return el('td', { cls: 'n' + (cls ? ' ' + cls : ''), text: text }); }

  var config = { calls: false, tail: false };
  var schemas = {};

  fetch('api/config').then(function (r) { return r.json(); }).then(function (c) {
    config = c;
    $('call-submit').disabled = !c.calls;
    $('call-note').textContent = c.calls ? 'Calls are enabled on this dashboard.' : 'Read-only: the operator has not enabled calls from this page.';
    $('tail-start').disabled = !c.tail;
  });

  var live = new EventSource('api/live');
  live.addEventListener('stats', function (ev) {
    $('conn').textContent = 'updating';
    $('conn').className = 'badge ok';
    render(JSON.parse(ev.data));
  });
  live.addEventListener('failure', function (ev) {
    $('conn').textContent = 'hub unreachable: ' + JSON.parse(ev.data).error;
    $('conn').className = 'badge bad';
  });
  live.onerror = function () { $('conn').textContent = 'reconnecting'; $('conn').className = 'badge bad'; };

  function render(p) {
    var s = p.snapshot, r = p.rates, t = s.topology || { channels: [], events: [], topics: [], peers: [], plugins: [] };
    $('hub-id').textContent = s.serverId;
    $('hub-version').textContent = 'v' + s.version;
    $('uptime').textContent = 'up ' + uptime((s.time - s.startedAt) / 1000);
    $('live-badge').textContent = s.health.live ? 'live' : 'not live';
    $('live-badge').className = 'badge ' + (s.health.live ? 'ok' : 'bad');
    $('ready-badge').textContent = s.health.ready ? 'ready' : 'not ready';
    $('ready-badge').className = 'badge ' + (s.health.ready ? 'ok' : 'bad');
    var cards = [
      ['calls/s', num(r.callsPerSec, 1), 'card-calls'], ['errors/s', num(r.errorsPerSec, 1), 'card-errors'],
      ['messages/s', num(r.messagesPerSec, 1)], ['frames in/s', num(r.framesInPerSec)], ['frames out/s', num(r.framesOutPerSec)],
      ['in/s', bytes(r.bytesInPerSec)], ['out/s', bytes(r.bytesOutPerSec)],
      ['connections', num(total(s, 'pipeio_hub_connections'))], ['clients', num(total(s, 'pipeio_hub_clients'))],
      ['channels', num(total(s, 'pipeio_hub_channels'))], ['topics', num(total(s, 'pipeio_hub_topics'))],
      ['pending calls', num(total(s, 'pipeio_hub_pending_calls'))], ['queued', bytes(total(s, 'pipeio_hub_queued_bytes'))],
      ['slow consumers', num(total(s, 'pipeio_hub_slow_consumers_total'))], ['auth refusals', num(total(s, 'pipeio_hub_auth_refusals_total'))]
    ];
    fill($('cards'), cards.map(function (c) {
      return el('div', { cls: 'card', id: c[2] || '' }, el('div', { cls: 'v', text: c[1] }), el('div', { cls: 'k', text: c[0] }));
    }));
    var rates = {};
    r.events.forEach(function (e) { rates[e.channel + ':' + e.event] = e; });
    schemas = {};
    var seen = {};
    var rows = t.events.map(function (e) {
      var key = e.channel + ':' + e.event;
      seen[key] = true;
      schemas[key] = e;
      var rt = rates[key] || {};
      var tr = el('tr', { cls: 'pick', 'data-key': key, title: 'Use in the call form' });
      cells(tr, [e.channel, e.event,
        el('td', null, e.providers.map(function (x) { return x.id + ' (' + x.active + ')'; }).join(', ')),
        (e.isGroup ? 'group ' : '') + (e.isStream ? 'stream' : ''),
        ncell(num(rt.callsPerSec, 1), 'rate'), ncell(ms(rt.p50Ms)), ncell(ms(rt.p99Ms)), ncell(num(rt.calls || 0), 'total')]);
      tr.addEventListener('click', function () { pick(e); });
      return tr;
    });
    r.events.forEach(function (e) {
      var key = e.channel + ':' + e.event;
      if (seen[key]) return;
      rows.push(cells(el('tr', { 'data-key': key }), [e.channel, e.event, el('td', { cls: 'dim', text: 'no provider' }), '',
        ncell(num(e.callsPerSec, 1), 'rate'), ncell(ms(e.p50Ms)), ncell(ms(e.p99Ms)), ncell(num(e.calls), 'total')]));
    });
    fill($('events'), rows);
    fill($('channels'), t.channels.map(function (c) {
      return cells(el('tr', { 'data-channel': c.name }), [c.name, c.owner || '-',
        el('td', null, c.members.map(function (m) { return m.id + ' [' + m.transport + ']'; }).join(', ')),
        c.passwordSet ? 'yes' : 'no', ncell(String(c.openers))]);
    }));
    fill($('topics'), t.topics.map(function (x) {
      var tr = cells(el('tr', { cls: 'pick', 'data-topic': x.channel + ':' + x.name, title: 'Tail this topic' }), [x.channel, x.name, x.owner || '-', ncell(String(x.subscribers))]);
      tr.addEventListener('click', function () { $('tail-channel').value = x.channel; $('tail-topic').value = x.name; });
      return tr;
    }));
    var fedUp = total(s, 'pipeio_hub_federation_link_up');
    var federated = s.metrics.some(function (f) { return f.name === 'pipeio_hub_federation_link_up'; });
    $('federation').textContent = federated ? 'NATS link ' + (fedUp ? 'up' : 'DOWN') + '; peers: ' + (t.peers.length ? t.peers.join(', ') : 'none') + '; reconnects: ' + total(s, 'pipeio_hub_federation_reconnects_total') : 'not federated';
    fill($('plugins'), t.plugins.map(function (x) {
      return cells(el('tr'), [x.command, x.channel + ':' + (x.event || '*'), x.pids.map(function (pid) { return pid === null ? 'down' : String(pid); }).join(', '), ncell(String(x.restarts))]);
    }));
    $('truncated').textContent = t.truncated ? 'Lists cut at 500 entries.' : '';
    var dl = $('known-channels');
    fill(dl, t.channels.map(function (c) { return el('option', { value: c.name }); }));
  }

  function pick(e) {
    $('call-channel').value = e.channel;
    $('call-event').value = e.event;
    $('call-stream').checked = !!e.isStream;
    showSchema();
  }
  function schemaFor() { return schemas[$('call-channel').value + ':' + $('call-event').value]; }
  function showSchema() {
    var e = schemaFor();
    $('call-schema').textContent = e && e.paramSchema ? JSON.stringify(e.paramSchema, null, 2) : '(no schema announced)';
  }
  $('call-channel').addEventListener('change', showSchema);
  $('call-event').addEventListener('change', showSchema);

  // -- a subset of JSON Schema (type, enum, const, bounds, required, properties, items, anyOf/oneOf, local $ref) --
  function isType(t, v) {
    switch (t) {
      case 'null': return v === null;
      case 'boolean': return typeof v === 'boolean';
      case 'string': return typeof v === 'string';
      case 'number': return typeof v === 'number';
      case 'integer': return typeof v === 'number' && Math.floor(v) === v;
      case 'array': return Array.isArray(v);
      case 'object': return v !== null && typeof v === 'object' && !Array.isArray(v);
      default: return true;
    }
  }
  function resolve(root, s) {
    var n = 0;
    while (s && typeof s.$ref === 'string' && s.$ref.indexOf('#/') === 0 && n++ < 32) {
      s = s.$ref.slice(2).split('/').reduce(function (o, k) { return o ? o[k.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined; }, root);
    }
    return s;
  }
  function check(root, schema, v, path, out) {
    var s = resolve(root, schema);
    if (!s || typeof s !== 'object') return out;
    var same = function (a, b) { return JSON.stringify(a) === JSON.stringify(b); };
    if (s.type !== undefined) {
      var types = Array.isArray(s.type) ? s.type : [s.type];
      if (!types.some(function (t) { return isType(t, v); })) { out.push(path + ': expected ' + types.join(' or ')); return out; }
    }
    if (Array.isArray(s.enum) && !s.enum.some(function (x) { return same(x, v); })) out.push(path + ': must be one of ' + JSON.stringify(s.enum));
    if (s.hasOwnProperty('const') && !same(s.const, v)) out.push(path + ': must be ' + JSON.stringify(s.const));
    var alts = s.anyOf || s.oneOf;
    if (Array.isArray(alts) && !alts.some(function (a) { return check(root, a, v, path, []).length === 0; })) out.push(path + ': matches none of the allowed shapes');
    if (typeof v === 'number') {
      if (typeof s.minimum === 'number' && v < s.minimum) out.push(path + ': must be >= ' + s.minimum);
      if (typeof s.maximum === 'number' && v > s.maximum) out.push(path + ': must be <= ' + s.maximum);
      if (typeof s.exclusiveMinimum === 'number' && v <= s.exclusiveMinimum) out.push(path + ': must be > ' + s.exclusiveMinimum);
      if (typeof s.exclusiveMaximum === 'number' && v >= s.exclusiveMaximum) out.push(path + ': must be < ' + s.exclusiveMaximum);
    }
    if (typeof v === 'string') {
      if (typeof s.minLength === 'number' && v.length < s.minLength) out.push(path + ': shorter than ' + s.minLength);
      if (typeof s.maxLength === 'number' && v.length > s.maxLength) out.push(path + ': longer than ' + s.maxLength);
    }
    if (Array.isArray(v)) {
      if (typeof s.minItems === 'number' && v.length < s.minItems) out.push(path + ': fewer than ' + s.minItems + ' items');
      if (typeof s.maxItems === 'number' && v.length > s.maxItems) out.push(path + ': more than ' + s.maxItems + ' items');
      if (s.items && typeof s.items === 'object') v.forEach(function (x, i) { check(root, s.items, x, path + '[' + i + ']', out); });
    }
    if (isType('object', v)) {
      (Array.isArray(s.required) ? s.required : []).forEach(function (k) { if (!v.hasOwnProperty(k)) out.push(path + ': "' + k + '" is required'); });
      var props = s.properties || {};
      Object.keys(v).forEach(function (k) {
        if (props.hasOwnProperty(k)) check(root, props[k], v[k], path + '.' + k, out);
        else if (s.additionalProperties === false) out.push(path + ': "' + k + '" is not allowed');
        else if (s.additionalProperties && typeof s.additionalProperties === 'object') check(root, s.additionalProperties, v[k], path + '.' + k, out);
      });
    }
    return out;
  }

  function showError(text) { $('call-error').textContent = text; $('call-result').textContent = ''; }
  $('call-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    $('call-error').textContent = '';
    var raw = $('call-data').value.trim();
    var data = null;
    if (raw !== '') {
      try { data = JSON.parse(raw); } catch (err) { showError('Invalid JSON: ' + err.message); return; }
    }
    var e = schemaFor();
    if (e && e.paramSchema && typeof e.paramSchema === 'object') {
      var issues = check(e.paramSchema, e.paramSchema, data, 'data', []);
      if (issues.length) { showError('Does not match the event\\'s schema: ' + issues.join('; ')); return; }
    }
    var stream = $('call-stream').checked;
    $('call-result').textContent = 'calling...';
    $('call-result').className = '';
    fetch('api/call', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ channel: $('call-channel').value, event: $('call-event').value, data: data, stream: stream }) })
      .then(function (res) {
        if (!stream || !res.ok || !res.body) return res.json().then(showResult);
        $('call-result').textContent = '';
        return readSse(res.body.getReader(), function (name, payload) {
          if (name === 'chunk') $('call-result').textContent += JSON.stringify(payload) + '\\n';
          else showResult(payload, true);
        });
      })
      .catch(function (err) { showError(String(err)); });
  });
  function showResult(r, append) {
    var text = r.ok ? (append ? '(end of stream)' : JSON.stringify(r.data, null, 2)) : 'Error ' + (r.code || '') + ': ' + r.error;
    $('call-result').className = r.ok ? 'okc' : 'error';
    if (append) $('call-result').textContent += text; else $('call-result').textContent = text;
  }
  function readSse(reader, onEvent) {
    var buf = '';
    var dec = new TextDecoder();
    function pump() {
      return reader.read().then(function (x) {
        if (x.done) return;
        buf += dec.decode(x.value, { stream: true });
        var at;
        while ((at = buf.indexOf('\\n\\n')) >= 0) {
          var block = buf.slice(0, at);
          buf = buf.slice(at + 2);
          var name = 'message', data = '';
          block.split('\\n').forEach(function (line) {
            if (line.indexOf('event: ') === 0) name = line.slice(7);
            else if (line.indexOf('data: ') === 0) data += line.slice(6);
          });
          if (data) onEvent(name, JSON.parse(data));
        }
        return pump();
      });
    }
    return pump();
  }

  var tail = null;
  $('tail-start').addEventListener('click', function () {
    if (tail) tail.close();
    var out = $('tail-output');
    out.textContent = '';
    var q = 'channel=' + encodeURIComponent($('tail-channel').value) + '&topic=' + encodeURIComponent($('tail-topic').value);
    tail = new EventSource('api/tail?' + q);
    $('tail-state').textContent = 'subscribing...';
    tail.addEventListener('subscribed', function () { $('tail-state').textContent = 'tailing'; });
    tail.addEventListener('message', function (ev) {
      var m = JSON.parse(ev.data);
      out.textContent += new Date(m.time).toISOString().slice(11, 23) + '  ' + JSON.stringify(m.data) + '\\n';
      var lines = out.textContent.split('\\n');
      if (lines.length > 500) out.textContent = lines.slice(-500).join('\\n');
      out.scrollTop = out.scrollHeight;
    });
    tail.addEventListener('error', function (ev) {
      if (ev.data) $('tail-state').textContent = 'error: ' + JSON.parse(ev.data).error;
      tail.close();
    });
  });
  $('tail-stop').addEventListener('click', function () { if (tail) tail.close(); tail = null; $('tail-state').textContent = 'stopped'; });
})();
`;
