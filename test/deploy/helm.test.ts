/**
 * The Helm chart (deploy/helm/selfie-inspect), checked without a cluster: scripts/helm-check.sh lints it, renders
 * it with the default values and with deploy/helm/values-production.yaml, and validates every rendered object with
 * kubeconform -strict against Kubernetes and KEDA schemas from registry packages. This file runs that script and
 * then checks what schemas cannot: that the objects fit together and fit the code (queue names, Redis keys,
 * configuration variables, probe paths, entrypoints).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ZConfig } from '@selfie/config';
import { createMetrics, startMetricsServer } from '@selfie/metrics';
import { QUEUES } from '@selfie/queue';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const chart = path.join(root, 'deploy/helm/selfie-inspect');
const rendered = path.join(root, '.tools/helm-check');
const helm = path.join(root, '.tools/bin/helm');
const kubeconform = path.join(root, '.tools/bin/kubeconform');
const schemas = path.join(root, '.tools/schemas');
const script = fs.readFileSync(path.join(root, 'scripts/helm-check.sh'), 'utf8');
const kubernetesVersion = /^KUBERNETES_VERSION="(v[\d.]+)"$/m.exec(script)?.[1] ?? '';

// BullMQ is a dependency of @selfie/queue, not of the root package: resolve it from there.
const { QueueKeys } = createRequire(path.join(root, 'packages/queue/package.json'))('bullmq') as {
  QueueKeys: new (prefix: string) => { getKeys(queue: string): Record<string, string> };
};

// ---- the rendered objects -------------------------------------------------------------------------------------

interface Probe {
  httpGet?: { path?: string; port?: string | number };
}
interface Container {
  name: string;
  args?: string[];
  command?: string[];
  env?: {
    name: string;
    value?: string;
    valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } };
  }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  ports?: { name?: string; containerPort: number }[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { requests?: Record<string, string | number>; limits?: Record<string, string | number> };
  securityContext?: Record<string, unknown> & { capabilities?: { drop?: string[] } };
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  securityContext?: Record<string, unknown>;
  containers: Container[];
  volumes?: { name: string; emptyDir?: unknown }[];
  automountServiceAccountToken?: boolean;
}
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}
interface Deployment extends K8sObject {
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
}
interface ScaledObject extends K8sObject {
  spec: {
    scaleTargetRef: { name: string; kind?: string; apiVersion?: string };
    minReplicaCount?: number;
    maxReplicaCount?: number;
    triggers: { type: string; metadata: Record<string, string>; authenticationRef?: { name: string } }[];
  };
}

function load(file: string): K8sObject[] {
  return parseAllDocuments(fs.readFileSync(file, 'utf8'))
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map(String).join('; ')}`);
      return doc.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null);
}

const ofKind = <T extends K8sObject>(objects: K8sObject[], kind: string) =>
  objects.filter((o) => o.kind === kind) as T[];

/** Bytes (memory) or millicores (cpu) of a Kubernetes quantity. */
function quantity(value: string | number): number {
  const match = /^([0-9.]+)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(String(value));
  if (!match) throw new Error(`not a quantity: ${value}`);
  const factors: Record<string, number> = {
    '': 1,
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
  };
  return Number(match[1]) * (factors[match[2] ?? ''] as number);
}

const configVariables = new Set(Object.keys(ZConfig.shape));
const consumedQueues = Object.entries(QUEUES)
  .filter(([key]) => key !== 'sweeper') // the finalizer's own repeatable job, not a work queue
  .map(([, q]) => q.name)
  .sort();

let checkOutput = '';

beforeAll(async () => {
  // Builds the pinned tools on first use (a few minutes; `scripts/dev test` has already done it).
  const { stdout, stderr } = await run('bash', [path.join(root, 'scripts/helm-check.sh'), 'check'], {
    cwd: root,
    timeout: 20 * 60_000,
    maxBuffer: 32 * 1024 * 1024,
  });
  checkOutput = `${stdout}\n${stderr}`;
}, 20 * 60_000);

describe('scripts/helm-check.sh', () => {
  it('pins every tool and schema source to an exact version', () => {
    for (const name of ['HELM', 'KUBECONFORM', 'KUBERNETES', 'KEDA', 'PROMETHEUS_OPERATOR']) {
      expect(script, name).toMatch(new RegExp(`^${name}_VERSION="v\\d+\\.\\d+\\.\\d+"$`, 'm'));
    }
    expect(script).toContain('go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"');
    expect(script).toContain('go install "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"');
    expect(fs.readFileSync(path.join(root, 'scripts/dev'), 'utf8')).toMatch(/helm-check\.sh"? install/);
  });

  it('lints both values files and validates every rendered object strictly, with none skipped', () => {
    expect(checkOutput.match(/1 chart\(s\) linted, 0 chart\(s\) failed/g)).toHaveLength(2);
    const summaries = [
      ...checkOutput.matchAll(
        /Summary: (\d+) resources? found .* Valid: (\d+), Invalid: (\d+), Errors: (\d+), Skipped: (\d+)/g,
      ),
    ];
    expect(summaries).toHaveLength(2);
    for (const [, found, valid, invalid, errors, skipped] of summaries) {
      expect(Number(found)).toBeGreaterThan(20);
      expect(valid).toBe(found);
      expect([invalid, errors, skipped]).toEqual(['0', '0', '0']);
    }
  });

  it('has schemas that reject what a cluster would reject (misspelt fields, unknown ScaledObject fields)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'helm-check-'));
    const bad = path.join(dir, 'bad.yaml');
    fs.writeFileSync(
      bad,
      [
        'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec:\n  selector: {matchLabels: {a: b}}',
        '  template:\n    metadata: {labels: {a: b}}\n    spec:\n      containers:',
        '        - {name: a, image: a, securityContext: {readOnlyRootFileSystem: true}}',
        '---\napiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: a}',
        'spec: {scaleTargetRef: {name: a}, minReplicas: 1, triggers: [{type: redis, metadata: {listName: x}}]}',
        '',
      ].join('\n'),
    );
    const result = await run(kubeconform, [
      '-strict',
      '-summary',
      '-schema-location',
      `${schemas}/kubernetes/{{ .ResourceKind }}{{ .KindSuffix }}.json`,
      '-schema-location',
      `${schemas}/crds/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json`,
      bad,
    ]).then(
      () => '',
      (err: { stdout?: string }) => err.stdout ?? '',
    );
    fs.rmSync(dir, { recursive: true, force: true });
    expect(result).toContain("additional properties 'readOnlyRootFileSystem' not allowed");
    expect(result).toContain("additional properties 'minReplicas' not allowed");
    expect(result).toMatch(/Invalid: 2/);
  });
});

describe.each(['default', 'production'])('the chart rendered with the %s values', (name) => {
  let objects: K8sObject[] = [];
  let deployments: Deployment[] = [];
  let scaledObjects: ScaledObject[] = [];
  let configMaps: K8sObject[] = [];
  let consumers: Deployment[] = [];

  beforeAll(() => {
    objects = load(path.join(rendered, `${name}.yaml`));
    deployments = ofKind<Deployment>(objects, 'Deployment');
    scaledObjects = ofKind<ScaledObject>(objects, 'ScaledObject');
    configMaps = ofKind(objects, 'ConfigMap');
    consumers = deployments.filter((d) => d.metadata.labels?.['app.kubernetes.io/component'] !== 'gateway');
  });

  const component = (d: K8sObject) => d.metadata.labels?.['app.kubernetes.io/component'] ?? '';
  const containerOf = (d: Deployment) => d.spec.template.spec.containers[0] as Container;
  /** The environment a container starts with: its ConfigMaps, then its env entries (values or secret refs). */
  const environmentOf = (c: Container) => {
    const env = new Map<string, string>();
    for (const from of c.envFrom ?? []) {
      const map = configMaps.find((m) => m.metadata.name === from.configMapRef?.name);
      for (const [k, v] of Object.entries(map?.data ?? {})) env.set(k, v);
    }
    for (const e of c.env ?? []) env.set(e.name, e.value ?? `<secret ${e.valueFrom?.secretKeyRef?.key}>`);
    return env;
  };

  it('runs the gateway, one worker per stage, the finalizer and the webhook dispatcher', () => {
    const components = deployments.map(component).sort();
    expect(components).toEqual(
      [
        'finalizer',
        'gateway',
        'webhook-dispatcher',
        'worker-faces',
        'worker-liveness',
        'worker-obstruction',
        'worker-orientation',
        'worker-quality',
        'worker-repeat-face',
      ].sort(),
    );
    for (const d of deployments) {
      const entry = containerOf(d).args?.[0] ?? '';
      expect(entry, d.metadata.name).toMatch(/^services\/[^/]+\/src\/main\.ts$/);
      expect(fs.existsSync(path.join(root, entry)), `${entry} exists`).toBe(true);
      expect(entry.split('/')[1]).toBe(component(d));
    }
  });

  it('consumes every work queue of the catalogue, each from one Deployment', () => {
    const queues = consumers.map((d) => d.metadata.annotations?.['selfie-inspect/queue']).sort();
    expect(queues).toEqual(consumedQueues);
  });

  it('gives every consumer a KEDA ScaledObject on its BullMQ wait list, and nothing else one', () => {
    expect(scaledObjects.map((s) => s.spec.scaleTargetRef.name).sort()).toEqual(
      consumers.map((d) => d.metadata.name).sort(),
    );
    const prefix = configMaps[0]?.data?.REDIS_PREFIX ?? '';
    expect(prefix).not.toBe('');
    for (const d of consumers) {
      const scaled = scaledObjects.find((s) => s.spec.scaleTargetRef.name === d.metadata.name) as ScaledObject;
      expect(scaled.spec.scaleTargetRef.kind ?? 'Deployment').toBe('Deployment');
      // KEDA owns the replica count; a replicas field would fight it on every upgrade.
      expect(d.spec.replicas, d.metadata.name).toBeUndefined();
      const queue = d.metadata.annotations?.['selfie-inspect/queue'] as string;
      const [trigger] = scaled.spec.triggers;
      expect(trigger?.type).toBe('redis');
      // The key BullMQ itself uses for the jobs waiting for a worker.
      expect(trigger?.metadata.listName).toBe(new QueueKeys(prefix).getKeys(queue).wait);
      expect(Number(trigger?.metadata.listLength)).toBeGreaterThan(0);
      expect(trigger?.metadata.address).toMatch(/^[^:/\s]+:\d+$/);
      expect(scaled.spec.maxReplicaCount).toBeGreaterThanOrEqual(scaled.spec.minReplicaCount ?? 0);
      if (trigger?.authenticationRef) {
        const auth = ofKind(objects, 'TriggerAuthentication').map((o) => o.metadata.name);
        expect(auth).toContain(trigger.authenticationRef.name);
      }
    }
  });

  it('scales the gateway on CPU and keeps it available through voluntary disruptions', () => {
    const gateway = deployments.find((d) => component(d) === 'gateway') as Deployment;
    const [hpa] = ofKind<K8sObject & { spec: { scaleTargetRef: { name: string }; metrics: unknown[] } }>(
      objects,
      'HorizontalPodAutoscaler',
    );
    expect(hpa?.spec.scaleTargetRef.name).toBe(gateway.metadata.name);
    expect(JSON.stringify(hpa?.spec.metrics)).toContain('"name":"cpu"');
    const [pdb] = ofKind<K8sObject & { spec: { selector: { matchLabels: Record<string, string> } } }>(
      objects,
      'PodDisruptionBudget',
    );
    expect(pdb?.spec.selector.matchLabels).toEqual(gateway.spec.selector.matchLabels);
  });

  it('selects its own pods with every Deployment and Service', () => {
    for (const d of deployments) {
      for (const [k, v] of Object.entries(d.spec.selector.matchLabels)) {
        expect(d.spec.template.metadata.labels[k], `${d.metadata.name} ${k}`).toBe(v);
      }
    }
    for (const service of ofKind<
      K8sObject & { spec: { selector: Record<string, string>; ports: { targetPort: string }[] } }
    >(objects, 'Service')) {
      const pods = deployments.filter((d) =>
        Object.entries(service.spec.selector).every(([k, v]) => d.spec.template.metadata.labels[k] === v),
      );
      expect(pods, service.metadata.name).toHaveLength(1);
      const ports = containerOf(pods[0] as Deployment).ports?.map((p) => p.name);
      for (const port of service.spec.ports) expect(ports).toContain(port.targetPort);
    }
  });

  it('sets only configuration variables that packages/config defines', () => {
    for (const map of configMaps) {
      expect(
        Object.keys(map.data ?? {}).filter((k) => !configVariables.has(k)),
        map.metadata.name,
      ).toEqual([]);
    }
    for (const d of deployments) {
      const names = (containerOf(d).env ?? []).map((e) => e.name);
      expect(
        names.filter((k) => !configVariables.has(k)),
        d.metadata.name,
      ).toEqual([]);
      expect(new Set(names).size, `${d.metadata.name} sets no variable twice`).toBe(names.length);
    }
  });

  it('reads every required secret key from a Secret that has it (when the chart writes the Secret)', () => {
    const secrets = ofKind(objects, 'Secret');
    if (name === 'production') {
      expect(secrets, 'the production example brings its own Secret').toEqual([]);
      return;
    }
    for (const d of deployments) {
      for (const e of containerOf(d).env ?? []) {
        const ref = e.valueFrom?.secretKeyRef;
        if (!ref || ref.optional) continue;
        const secret = secrets.find((s) => s.metadata.name === ref.name);
        expect(Object.keys(secret?.stringData ?? {}), `${d.metadata.name} ${e.name}`).toContain(ref.key);
      }
    }
  });

  it('points every probe at a path the service serves, on the port it listens on', async () => {
    // The workers' /healthz and /readyz come from @selfie/metrics' server: ask a real one.
    const { registry } = createMetrics({ defaultMetrics: false });
    const server = await startMetricsServer({ port: 0, registry, ready: () => true });
    const served = new Set<string>();
    try {
      for (const p of ['/healthz', '/readyz', '/metrics']) {
        if ((await fetch(`${server.url}${p}`)).status === 200) served.add(p);
      }
    } finally {
      await server.close();
    }
    expect([...served].sort()).toEqual(['/healthz', '/metrics', '/readyz']);
    const gatewayApp = fs.readFileSync(path.join(root, 'services/gateway/src/app.ts'), 'utf8');

    for (const d of deployments) {
      const c = containerOf(d);
      const env = environmentOf(c);
      const isGateway = component(d) === 'gateway';
      expect(c.readinessProbe?.httpGet?.path, d.metadata.name).toBe('/readyz');
      expect(c.livenessProbe?.httpGet?.path, d.metadata.name).toBe('/healthz');
      expect(c.startupProbe?.httpGet?.path, d.metadata.name).toBe('/healthz');
      for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe]) {
        const port = c.ports?.find((p) => p.name === probe?.httpGet?.port);
        expect(port, `${d.metadata.name} probe port ${probe?.httpGet?.port}`).toBeDefined();
        // The port the process binds, from the same configuration it reads.
        const listens = isGateway ? env.get('PORT') : env.get('METRICS_PORT');
        expect(String(port?.containerPort), d.metadata.name).toBe(listens);
        if (isGateway) expect(gatewayApp).toContain(`app.get('${probe?.httpGet?.path}'`);
      }
      // Probes come from the kubelet, not from inside the pod: the server must not bind loopback only.
      expect(isGateway ? env.get('HOST') : env.get('METRICS_HOST'), d.metadata.name).toBe('0.0.0.0');
      if (!isGateway) {
        const main = fs.readFileSync(path.join(root, c.args?.[0] ?? ''), 'utf8');
        expect(main, `${c.args?.[0]} serves /readyz through withMetricsServer`).toContain('withMetricsServer(');
      }
    }
  });

  it('runs every container as non-root, without privileges, on a read-only root filesystem with /tmp writable', () => {
    for (const d of deployments) {
      const pod = d.spec.template.spec;
      expect(pod.securityContext?.runAsNonRoot, d.metadata.name).toBe(true);
      expect(pod.securityContext?.runAsUser).not.toBe(0);
      expect(pod.automountServiceAccountToken).toBe(false);
      for (const c of pod.containers) {
        expect(c.securityContext?.allowPrivilegeEscalation, c.name).toBe(false);
        expect(c.securityContext?.readOnlyRootFilesystem, c.name).toBe(true);
        expect(c.securityContext?.capabilities?.drop).toContain('ALL');
        expect(c.securityContext?.runAsUser ?? pod.securityContext?.runAsUser).not.toBe(0);
        const tmp = c.volumeMounts?.find((m) => m.mountPath === '/tmp');
        expect(tmp, `${c.name} mounts /tmp`).toBeDefined();
        expect(pod.volumes?.find((v) => v.name === tmp?.name)?.emptyDir, `${c.name} /tmp is an emptyDir`).toBeDefined();
      }
    }
  });

  it('requests and limits CPU and memory for every container, limits at least the requests', () => {
    for (const d of deployments) {
      const { requests = {}, limits = {} } = containerOf(d).resources ?? {};
      for (const resource of ['cpu', 'memory']) {
        expect(requests[resource], `${d.metadata.name} requests ${resource}`).toBeDefined();
        expect(limits[resource], `${d.metadata.name} limits ${resource}`).toBeDefined();
        expect(quantity(limits[resource] as string)).toBeGreaterThanOrEqual(quantity(requests[resource] as string));
      }
    }
    // The stage workers that run models get at least their measured peak RSS (README: faces 374 MB) as request.
    const faces = consumers.find((d) => component(d) === 'worker-faces') as Deployment;
    expect(quantity(containerOf(faces).resources?.requests?.memory as string)).toBeGreaterThanOrEqual(374e6);
  });
});

describe('values', () => {
  const valuesSchema = JSON.parse(fs.readFileSync(path.join(chart, 'values.schema.json'), 'utf8')) as {
    definitions: { configMap: { propertyNames: { enum: string[] } } };
  };
  const template = (...args: string[]) =>
    run(helm, ['template', 'selfie-inspect', chart, '--kube-version', kubernetesVersion, ...args], {
      maxBuffer: 32 * 1024 * 1024,
    });

  it('accept in `config` and `env` only variables of packages/config', () => {
    const allowed = valuesSchema.definitions.configMap.propertyNames.enum;
    expect(allowed.filter((k) => !configVariables.has(k))).toEqual([]);
    for (const secret of ['MONGODB_URI', 'REDIS_URL', 'S3_ACCESS_KEY', 'S3_SECRET_KEY', 'ADMIN_KEY', 'LOCAL_API_KEY']) {
      expect(allowed, `${secret} belongs in the Secret`).not.toContain(secret);
    }
  });

  it('are refused by the chart when they name an unknown variable', async () => {
    const error = await template('--set', 'config.NOT_A_SETTING=1').then(
      () => undefined,
      (err: { stderr?: string }) => err.stderr ?? 'failed',
    );
    expect(error).toMatch(/NOT_A_SETTING|schema/);
  });

  it('add a stage worker with one list entry (Deployment, Service and ScaledObject)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'helm-values-'));
    const file = path.join(dir, 'values.yaml');
    fs.writeFileSync(
      file,
      'stageWorkers:\n  - name: faces\n    queue: stage-faces\n  - name: quality\n    queue: stage-quality\n    autoscaling: {minReplicas: 0, maxReplicas: 4}\n',
    );
    const { stdout } = await template('--values', file);
    fs.rmSync(dir, { recursive: true, force: true });
    const objects = parseAllDocuments(stdout)
      .map((d) => d.toJS() as K8sObject | null)
      .filter((o): o is K8sObject => o !== null);
    const named = objects.filter((o) => o.metadata.name === 'selfie-inspect-worker-quality').map((o) => o.kind);
    expect(named.sort()).toEqual(['Deployment', 'ScaledObject', 'Service']);
    const scaled = ofKind<ScaledObject>(objects, 'ScaledObject').find(
      (s) => s.metadata.name === 'selfie-inspect-worker-quality',
    );
    expect(scaled?.spec.minReplicaCount).toBe(0);
    expect(scaled?.spec.triggers[0]?.metadata.listName).toBe('selfie:stage-quality:wait');
  });
});
