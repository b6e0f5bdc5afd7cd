/**
 * The screen of `pipe-io-server top`: a pure function from two snapshots
 * (and the terminal's size) to lines of text, so it can be tested without a
 * terminal.
 */
import { computeRates, family, total } from '../metrics/rates';
import type { HubMetricsSnapshot } from '../metrics/types';

function num(n: number | undefined, digits = 0): string {
  if (n === undefined || Number.isNaN(n)) return '-';
  if (Math.abs(n) >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (Math.abs(n) >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return n.toFixed(digits);
}

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

function ms(v: number | undefined): string {
  if (v === undefined) return '-';
  return v < 1 ? `${(v * 1000).toFixed(0)}µs` : `${v.toFixed(v < 10 ? 2 : 0)}ms`;
}

function uptime(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return `${d ? `${d}d ` : ''}${d || h ? `${h}h ` : ''}${m}m ${Math.floor(seconds % 60)}s`;
}

const cut = (s: string, w: number): string => (s.length > w ? `${s.slice(0, Math.max(0, w - 1))}…` : s);
const pad = (s: string, w: number): string => cut(s, w).padEnd(w);
const rpad = (s: string, w: number): string => cut(s, w).padStart(w);

/** The lines of one screen, at most `rows` of at most `columns` characters. */
export function renderTop(prev: HubMetricsSnapshot | undefined, cur: HubMetricsSnapshot, columns = 100, rows = 40, fill = true): string[] {
  const r = computeRates(prev, cur);
  const by = (name: string, label: string): string => {
    const f = family(cur, name);
    if (!f || f.type === 'histogram') return '';
    return f.samples.map((x) => `${x.labels[label]} ${x.value}`).join(', ');
  };
  const lines: string[] = [];
  const time = new Date(cur.time).toISOString().slice(11, 19);
  lines.push(`pipe-io-server top — hub ${cur.serverId} v${cur.version}  up ${uptime((cur.time - cur.startedAt) / 1000)}  ${cur.health.live ? 'live' : 'NOT LIVE'}  ${cur.health.ready ? 'ready' : 'NOT READY'}  ${time}`);
  lines.push(
    `calls/s ${num(r.callsPerSec, 1)}  errors/s ${num(r.errorsPerSec, 1)}  messages/s ${num(r.messagesPerSec, 1)}  in ${bytes(r.bytesInPerSec)}/s  out ${bytes(r.bytesOutPerSec)}/s  frames ${num(r.framesInPerSec)}/${num(r.framesOutPerSec)} per s`,
  );
  lines.push(
    `connections ${total(cur, 'pipeio_hub_connections')} (${by('pipeio_hub_connections', 'transport')})  clients ${total(cur, 'pipeio_hub_clients')}  channels ${total(cur, 'pipeio_hub_channels')}  events ${total(cur, 'pipeio_hub_events')}  topics ${total(cur, 'pipeio_hub_topics')}`,
  );
  lines.push(
    `pending calls ${total(cur, 'pipeio_hub_pending_calls')}  queued ${bytes(total(cur, 'pipeio_hub_queued_bytes'))}  slow consumers ${total(cur, 'pipeio_hub_slow_consumers_total')}  auth refusals ${total(cur, 'pipeio_hub_auth_refusals_total')}  plugin restarts ${total(cur, 'pipeio_hub_plugin_restarts_total')}`,
  );
  if (family(cur, 'pipeio_hub_federation_link_up')) {
    const peers = cur.topology?.peers ?? [];
    lines.push(
      `federation: link ${total(cur, 'pipeio_hub_federation_link_up') ? 'up' : 'DOWN'}  peers ${total(cur, 'pipeio_hub_federation_peers')}${peers.length ? ` (${peers.join(', ')})` : ''}  reconnects ${total(cur, 'pipeio_hub_federation_reconnects_total')}`,
    );
  }
  lines.push('');
  const providers = new Map<string, number>();
  for (const e of cur.topology?.events ?? []) providers.set(`${e.channel}\u0000${e.event}`, e.providers.length);
  const wCh = Math.max(10, Math.floor((columns - 60) / 2));
  const wEv = Math.max(10, columns - 60 - wCh);
  lines.push(`${pad('CHANNEL', wCh)} ${pad('EVENT', wEv)} ${rpad('PROV', 4)} ${rpad('CALLS/S', 9)} ${rpad('ERR/S', 7)} ${rpad('P50', 8)} ${rpad('P99', 8)} ${rpad('CALLS', 9)}`);
  const seen = new Set<string>();
  const rowsOut: string[] = [];
  for (const e of r.events) {
    const k = `${e.channel}\u0000${e.event}`;
    seen.add(k);
    rowsOut.push(
      `${pad(e.channel, wCh)} ${pad(e.event, wEv)} ${rpad(String(providers.get(k) ?? 0), 4)} ${rpad(num(e.callsPerSec, 1), 9)} ${rpad(num(e.errorsPerSec, 1), 7)} ${rpad(ms(e.p50Ms), 8)} ${rpad(ms(e.p99Ms), 8)} ${rpad(num(e.calls), 9)}`,
    );
  }
  for (const e of cur.topology?.events ?? []) {
    if (seen.has(`${e.channel}\u0000${e.event}`)) continue;
    rowsOut.push(`${pad(e.channel, wCh)} ${pad(e.event, wEv)} ${rpad(String(e.providers.length), 4)} ${rpad('0.0', 9)} ${rpad('0.0', 7)} ${rpad('-', 8)} ${rpad('-', 8)} ${rpad('0', 9)}`);
  }
  const room = Math.max(1, rows - lines.length - 2);
  lines.push(...rowsOut.slice(0, room));
  if (rowsOut.length > room) lines.push(`… ${rowsOut.length - room} more`);
  if (!fill) return lines.map((l) => cut(l, columns));
  while (lines.length < rows - 1) lines.push('');
  lines.push('q: quit');
  return lines.slice(0, rows).map((l) => cut(l, columns));
}
