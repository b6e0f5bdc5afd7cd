/**
 * The Prometheus text exposition format (version 0.0.4) of metric families:
 * `# HELP`, `# TYPE`, one line per sample; histograms as cumulative
 * `_bucket{le=...}` lines, `_sum` and `_count`. Written by hand rather than
 * with prom-client: the families are built at scrape time from plain
 * counters, so there is nothing for prom-client to keep (docs/observability.md).
 */
import type { Labels, MetricFamily } from './types';

/** The Content-Type of {@link renderPrometheus}'s output. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function labelText(labels: Labels, extra?: [string, string]): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(labels)) parts.push(`${k}="${escapeLabel(v)}"`);
  if (extra) parts.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** Renders `families` as Prometheus text; families without samples still get their HELP and TYPE. */
export function renderPrometheus(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`);
    lines.push(`# TYPE ${f.name} ${f.type}`);
    if (f.type === 'histogram') {
      for (const s of f.samples) {
        f.bounds.forEach((b, i) => lines.push(`${f.name}_bucket${labelText(s.labels, ['le', formatValue(b)])} ${formatValue(s.buckets[i]!)}`));
        lines.push(`${f.name}_bucket${labelText(s.labels, ['le', '+Inf'])} ${formatValue(s.count)}`);
        lines.push(`${f.name}_sum${labelText(s.labels)} ${formatValue(s.sum)}`);
        lines.push(`${f.name}_count${labelText(s.labels)} ${formatValue(s.count)}`);
      }
    } else {
      for (const s of f.samples) lines.push(`${f.name}${labelText(s.labels)} ${formatValue(s.value)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
