/**
 * The hub's metrics inside an application's prom-client `Registry`, so one
 * scrape returns both. Each family is registered as an object with
 * prom-client's collector shape (`name`, `help`, `type`, `get()`,
 * `aggregator`): `get()` builds the values from the hub at scrape time.
 * prom-client is the user's package; nothing here loads it.
 */
import type { MetricFamily } from './types';

/** What we use of a prom-client Registry (v14, v15). */
export interface PromRegistryLike {
  registerMetric(metric: unknown): void;
  removeSingleMetric(name: string): void;
}

interface PromValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

function promValues(f: MetricFamily): PromValue[] {
  if (f.type !== 'histogram') return f.samples.map((s) => ({ value: s.value, labels: s.labels }));
  const out: PromValue[] = [];
  for (const s of f.samples) {
    f.bounds.forEach((le, i) => out.push({ value: s.buckets[i]!, labels: { ...s.labels, le }, metricName: `${f.name}_bucket` }));
    out.push({ value: s.count, labels: { ...s.labels, le: '+Inf' }, metricName: `${f.name}_bucket` });
    out.push({ value: s.sum, labels: s.labels, metricName: `${f.name}_sum` });
    out.push({ value: s.count, labels: s.labels, metricName: `${f.name}_count` });
  }
  return out;
}

/**
 * Registers every family `collect()` returns now (their names are fixed)
 * into `registry`; each scrape calls `collect()` again (once per scrape, shared
 * by the families). Returns the remover.
 */
export function registerInto(registry: PromRegistryLike, collect: () => MetricFamily[]): () => void {
  let cached: { at: number; families: Map<string, MetricFamily> } | undefined;
  const current = (): Map<string, MetricFamily> => {
    const now = Date.now();
    // One scrape asks every family within the same few ms: build them once.
    if (!cached || now - cached.at > 50) cached = { at: now, families: new Map(collect().map((f) => [f.name, f])) };
    return cached.families;
  };
  const metrics: Array<{ name: string }> = [];
  for (const f of collect()) {
    const aggregator = f.type === 'gauge' ? 'average' : 'sum';
    // prom-client in OpenMetrics mode renames counters (drops `_total`, adds it back when printing): read `metric.name`.
    const metric = {
      name: f.name,
      help: f.help,
      type: f.type,
      aggregator,
      get: async () => {
        const fam = current().get(f.name);
        return { name: metric.name, help: f.help, type: f.type, aggregator, values: fam ? promValues(fam) : [] };
      },
      reset: () => undefined,
    };
    registry.registerMetric(metric);
    metrics.push(metric);
  }
  return () => {
    for (const m of metrics) registry.removeSingleMetric(m.name);
  };
}
