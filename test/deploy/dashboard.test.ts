/**
 * The Grafana dashboard (deploy/grafana/selfie-inspect.json) and its compose wiring. Every metric and label a
 * panel's PromQL names must be one the services export: the exported names come from the metrics registry the
 * services record into (@selfie/metrics' createMetrics, Node's default metrics included), not from a list here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ZConfig } from '@selfie/config';
import { createMetrics } from '@selfie/metrics';
import { describe, expect, it } from 'vitest';
import { parse, parseDocument } from 'yaml';

const root = path.resolve(import.meta.dirname, '../..');
const read = (relative: string) => fs.readFileSync(path.join(root, relative), 'utf8');

// ---- what the services export ------------------------------------------------------------------------------

/** Series names a scrape returns, each with its label names (histograms: _bucket with le, _sum, _count). */
async function exportedSeries(): Promise<Map<string, Set<string>>> {
  const { registry } = createMetrics({ service: 'dashboard-test' });
  const series = new Map<string, Set<string>>();
  for (const metric of await registry.getMetricsAsJSON()) {
    const single = registry.getSingleMetric(metric.name) as unknown as { labelNames?: string[] } | undefined;
    const labels = new Set(['service', ...(single?.labelNames ?? [])]);
    const type = String(metric.type);
    if (type === 'histogram') {
      series.set(`${metric.name}_bucket`, new Set([...labels, 'le']));
      series.set(`${metric.name}_sum`, labels);
      series.set(`${metric.name}_count`, labels);
    } else if (type === 'summary') {
      series.set(metric.name, new Set([...labels, 'quantile']));
      series.set(`${metric.name}_sum`, labels);
      series.set(`${metric.name}_count`, labels);
    } else {
      series.set(metric.name, labels);
    }
  }
  return series;
}

/** Labels Prometheus adds to every scraped series. */
const TARGET_LABELS = ['job', 'instance'];

// ---- what the dashboard names ------------------------------------------------------------------------------

const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'inf',
  'nan',
]);

/** The expression without string literals and Grafana variables ($__rate_interval, ${datasource}). */
function stripped(expr: string): string {
  return expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""').replace(/\$\{\w+(?::\w+)?\}|\$\w+/g, '1m');
}

/** Metric names a PromQL expression reads: identifiers that are no function, keyword, label or duration. */
function metricNames(expr: string): string[] {
  const body = stripped(expr)
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const match of body.matchAll(/(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    const [, name, call] = match;
    if (!name || call || KEYWORDS.has(name.toLowerCase())) continue;
    names.add(name);
  }
  return [...names];
}

/** Label names an expression matches on or groups by. */
function labelNames(expr: string): string[] {
  const body = stripped(expr);
  const labels = new Set<string>();
  for (const [, matchers] of body.matchAll(/\{([^}]*)\}/g)) {
    for (const [, label] of (matchers ?? '').matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)) labels.add(label as string);
  }
  for (const [, list] of body.matchAll(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g)) {
    for (const label of (list ?? '').split(',').map((l) => l.trim())) if (label) labels.add(label);
  }
  return [...labels];
}

/** Labels an expression creates itself (label_replace's destination), which the check must not look up. */
function createdLabels(expr: string): string[] {
  return [...expr.matchAll(/label_replace\([^,]+,\s*"(\w+)"/g)].map((m) => m[1] as string);
}

interface Target {
  expr?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query?: string }[] };
}

const dashboard = JSON.parse(read('deploy/grafana/selfie-inspect.json')) as Dashboard;
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
const queries = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr ?? '' })));

// ---- compose ----------------------------------------------------------------------------------------------

interface ComposeService {
  build?: unknown;
  image?: string;
  environment?: Record<string, string | number | boolean | null>;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition?: string }>;
}
const compose = parseDocument(read('docker-compose.yml'), { merge: true }).toJS({ maxAliasCount: 1000 }) as {
  services: Record<string, ComposeService>;
};
const appServices = Object.entries(compose.services)
  .filter(([, s]) => s.build !== undefined)
  .map(([name]) => name);

/** Compose interpolation with nothing set: `${X:-default}` is `default`. */
const withDefaults = (value: string) =>
  value.replace(/\$\{[A-Za-z_]\w*(?::?[-?]([^}]*))?\}/g, (_m, fallback: string | undefined) => fallback ?? '');

/** Container path → repository path of a service's bind mounts (`./a:/b:ro`). */
function bindMounts(service: ComposeService | undefined): Map<string, string> {
  const mounts = new Map<string, string>();
  for (const volume of service?.volumes ?? []) {
    const [source = '', target = ''] = volume.split(':');
    if (source.startsWith('./')) mounts.set(target, source.slice(2));
  }
  return mounts;
}

// ---- tests -------------------------------------------------------------------------------------------------

describe('the PromQL reader this test relies on', () => {
  it('finds metric names and labels, not functions, strings, ranges or variables', () => {
    const expr =
      'histogram_quantile(0.95, sum by (le, stage) (rate(a_bucket{x="b_c", y=~"d|e"}[$__rate_interval]))) / on (queue) label_replace(sum(b_total offset 5m), "queue", "stage-$1", "stage", "(.+)") and ignoring (z) c';
    expect(metricNames(expr).sort()).toEqual(['a_bucket', 'b_total', 'c']);
    expect(labelNames(expr).sort()).toEqual(['le', 'queue', 'stage', 'x', 'y', 'z']);
    expect(createdLabels(expr)).toEqual(['queue']);
  });
});

describe('deploy/grafana/selfie-inspect.json', () => {
  it('is a dashboard with queries, unique panel ids and a layout inside 24 columns', () => {
    expect(dashboard.uid).toBe('selfie-inspect');
    expect(queries.length).toBeGreaterThan(10);
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      expect(p.gridPos.h, p.title).toBeGreaterThan(0);
    }
  });

  it('reads Prometheus through its data source variable in every panel and query', () => {
    const variable = dashboard.templating.list.find((v) => v.type === 'datasource');
    expect(variable?.query).toBe('prometheus');
    for (const p of panels.filter((p) => p.type !== 'row')) {
      expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: `\${${variable?.name}}` });
      for (const t of p.targets ?? []) expect(t.datasource, p.title).toEqual(p.datasource);
    }
  });

  it('names only metrics the services export', async () => {
    const exported = await exportedSeries();
    const unknown = queries.flatMap(({ panel, expr }) =>
      metricNames(expr)
        .filter((name) => !exported.has(name))
        .map((name) => `${panel}: ${name}`),
    );
    expect(unknown).toEqual([]);
  });

  it('matches and groups only on labels those metrics carry', async () => {
    const exported = await exportedSeries();
    const problems: string[] = [];
    for (const { panel, expr } of queries) {
      const known = new Set([...TARGET_LABELS, ...createdLabels(expr)]);
      for (const name of metricNames(expr)) for (const label of exported.get(name) ?? []) known.add(label);
      for (const label of labelNames(expr)) if (!known.has(label)) problems.push(`${panel}: ${label}`);
    }
    expect(problems).toEqual([]);
  });

  it('shows queue depth, stage latency, outcomes and reasons, finalized photos and webhook results', () => {
    const used = new Set(queries.flatMap(({ expr }) => metricNames(expr)));
    for (const name of [
      'selfie_queue_depth',
      'selfie_stage_duration_seconds_bucket',
      'selfie_stage_outcomes_total',
      'selfie_stage_reasons_total',
      'selfie_photos_finalized_total',
      'selfie_webhook_deliveries_total',
      'selfie_webhook_delivery_duration_seconds_bucket',
    ]) {
      expect(used, name).toContain(name);
    }
  });
});

describe('Prometheus and Grafana in docker-compose.yml', () => {
  const prometheus = parse(read('deploy/prometheus/prometheus.yml')) as {
    scrape_configs: {
      job_name: string;
      metrics_path?: string;
      dns_sd_configs?: { names: string[]; type: string; port: number }[];
      static_configs?: { targets: string[] }[];
    }[];
  };

  it('runs both from pinned images with the repository files mounted', () => {
    expect(compose.services.prometheus?.image).toMatch(/^prom\/prometheus:v\d+\.\d+\.\d+$/);
    expect(compose.services.grafana?.image).toMatch(/^grafana\/grafana:\d+\.\d+\.\d+$/);
    const promMounts = bindMounts(compose.services.prometheus);
    expect(promMounts.get('/etc/prometheus/prometheus.yml')).toBe('deploy/prometheus/prometheus.yml');
    const grafanaMounts = bindMounts(compose.services.grafana);
    expect(grafanaMounts.get('/etc/grafana/provisioning')).toBe('deploy/grafana/provisioning');
    for (const source of [...promMounts.values(), ...grafanaMounts.values()]) {
      expect(fs.existsSync(path.join(root, source)), source).toBe(true);
    }
  });

  it('scrapes every app service on the port that serves its /metrics, under its compose name', () => {
    const metricsPort = String(ZConfig.shape.METRICS_PORT.parse(undefined));
    for (const name of appServices) {
      const env = Object.fromEntries(
        Object.entries(compose.services[name]?.environment ?? {}).map(([k, v]) => [k, withDefaults(String(v ?? ''))]),
      );
      const job = prometheus.scrape_configs.find((j) => j.job_name === name);
      expect(job, `a scrape job for ${name}`).toBeDefined();
      expect(job?.metrics_path ?? '/metrics').toBe('/metrics');
      const [sd] = job?.dns_sd_configs ?? [];
      expect(sd?.names).toEqual([name]);
      // The gateway serves /metrics on its HTTP port; every other service on METRICS_PORT, bound beyond loopback.
      if (name === 'gateway') {
        expect(String(sd?.port)).toBe(env.PORT ?? '3000');
      } else {
        expect(String(sd?.port), name).toBe(env.METRICS_PORT ?? metricsPort);
        expect(env.METRICS_HOST, `${name} METRICS_HOST`).toBe('0.0.0.0');
      }
    }
  });

  it('provisions the Prometheus data source and the dashboard file Grafana is given', () => {
    const datasources = parse(read('deploy/grafana/provisioning/datasources/prometheus.yml')) as {
      datasources: { type: string; url: string }[];
    };
    const [source] = datasources.datasources;
    expect(source?.type).toBe('prometheus');
    const url = new URL(source?.url ?? '');
    expect(Object.keys(compose.services)).toContain(url.hostname);
    expect(compose.services[url.hostname]?.image).toMatch(/prometheus/);
    expect(url.port).toBe('9090');

    const providers = parse(read('deploy/grafana/provisioning/dashboards/selfie-inspect.yml')) as {
      providers: { type: string; options: { path: string } }[];
    };
    const dir = providers.providers[0]?.options.path ?? '';
    const mounted = [...bindMounts(compose.services.grafana)].filter(([target]) => path.posix.dirname(target) === dir);
    expect(mounted.map(([, source]) => source)).toContain('deploy/grafana/selfie-inspect.json');
    expect(compose.services.grafana?.depends_on?.prometheus?.condition).toBe('service_healthy');
  });
});
