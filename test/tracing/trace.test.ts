import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { OPT_IN_STAGES, STAGES } from '@selfie/contracts';
import { QUEUES } from '@selfie/queue';
import { flushTracing, serviceNameOf, shutdownTracing, tracingEnabled } from '@selfie/tracing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, freePort, pollPhoto, root, upload, waitFor } from '../pipeline/helpers.js';
import { startTestStack, type TestStack } from '../pipeline/support.js';

// Opt-in stages (repeatFace) do not run for these photos.
const RUN_STAGES = STAGES.filter((s) => !OPT_IN_STAGES.includes(s));

// One upload with tracing on, through the whole product (all-in-one: gateway, every stage worker, the finalizer
// and the webhook dispatcher, handing work to each other only through Redis job data), against a real trace
// backend: a private Jaeger v2 (.tools/bin/jaeger, built by `scripts/backing.sh jaeger build`) on free loopback
// ports with its traces in memory, queried through its HTTP API as an operator would.

const run = promisify(execFile);
const jaegerBinary = path.join(root, '.tools/bin/jaeger');

interface JaegerTag {
  key: string;
  type: string;
  value: unknown;
}
interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: { refType: string; traceID: string; spanID: string }[];
  startTime: number;
  duration: number;
  tags: JaegerTag[];
  logs: { fields: JaegerTag[] }[];
  processID: string;
}
interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

let jaeger: ChildProcess | undefined;
let jaegerLog = '';
let queryUrl = '';
let stack: TestStack | undefined;

async function jaegerGet<T>(pathAndQuery: string): Promise<T> {
  const res = await fetch(`${queryUrl}${pathAndQuery}`, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`GET ${pathAndQuery}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** Traces of one service that have a span tagged with every given tag (Jaeger's own tag search). */
async function findTraces(service: string, tags: Record<string, string> = {}): Promise<JaegerTrace[]> {
  const params = new URLSearchParams({ service, limit: '100' });
  if (Object.keys(tags).length > 0) params.set('tags', JSON.stringify(tags));
  return (await jaegerGet<{ data: JaegerTrace[] | null }>(`/api/traces?${params}`)).data ?? [];
}

const tag = (span: JaegerSpan, key: string) => span.tags.find((t) => t.key === key)?.value;

function serviceOf(traceDoc: JaegerTrace, span: JaegerSpan): string {
  return traceDoc.processes[span.processID]?.serviceName ?? '?';
}

function parentOf(span: JaegerSpan): string | undefined {
  return span.references.find((r) => r.refType === 'CHILD_OF')?.spanID;
}

/** The span tree as indented lines: `service: operation [key attributes] (ms)`. */
function renderTree(traceDoc: JaegerTrace): string {
  const children = new Map<string | undefined, JaegerSpan[]>();
  for (const span of traceDoc.spans) {
    const parent = parentOf(span);
    const key = parent && traceDoc.spans.some((s) => s.spanID === parent) ? parent : undefined;
    children.set(key, [...(children.get(key) ?? []), span]);
  }
  const shown = ['selfie.photo_id', 'selfie.stage', 'selfie.result', 'selfie.status', 'selfie.outcome'];
  const lines: string[] = [];
  const walk = (parent: string | undefined, depth: number) => {
    for (const span of (children.get(parent) ?? []).sort((a, b) => a.startTime - b.startTime)) {
      const attrs = [...shown, 'selfie.attempt', 'http.response.status_code']
        .filter((k) => tag(span, k) !== undefined)
        .map((k) => `${k}=${String(tag(span, k))}`);
      lines.push(
        `${'  '.repeat(depth)}${serviceOf(traceDoc, span)}: ${span.operationName} [${attrs.join(' ')}] (${(span.duration / 1000).toFixed(1)} ms)`,
      );
      walk(span.spanID, depth + 1);
    }
  };
  walk(undefined, 0);
  return lines.join('\n');
}

beforeAll(async () => {
  // `scripts/dev test` builds it beforehand; a bare `vitest run test/tracing` builds it here (minutes, once).
  if (!existsSync(jaegerBinary)) {
    await run('bash', [path.join(root, 'scripts/backing.sh'), 'jaeger', 'build'], {
      timeout: 40 * 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });
  }
  const [otlpPort, queryPort, grpcPort] = [await freePort(), await freePort(), await freePort()];
  queryUrl = `http://127.0.0.1:${queryPort}`;
  jaeger = spawn(jaegerBinary, ['--config', path.join(root, 'tools/jaeger/config.yaml')], {
    env: {
      ...process.env,
      SELFIE_JAEGER_PORT: String(queryPort),
      SELFIE_JAEGER_OTLP_PORT: String(otlpPort),
      SELFIE_JAEGER_GRPC_PORT: String(grpcPort),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const collect = (chunk: Buffer) => {
    jaegerLog = (jaegerLog + chunk.toString('utf8')).slice(-20_000);
  };
  jaeger.stdout?.on('data', collect);
  jaeger.stderr?.on('data', collect);
  await waitFor(
    'Jaeger to answer its query API',
    async () => {
      if (jaeger?.exitCode !== null) throw new Error(`jaeger exited: ${jaegerLog.slice(-2000)}`);
      return (await fetch(`${queryUrl}/api/services`)).ok;
    },
    60_000,
    200,
  );
  await waitFor('Jaeger to accept OTLP', async () => {
    // Any answer from the receiver (405 for GET, 400 for an empty POST) means it listens.
    const res = await fetch(`http://127.0.0.1:${otlpPort}/v1/traces`, { method: 'POST', body: '' });
    return res.status > 0;
  });

  stack = await startTestStack('test-tracing', {
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${otlpPort}`,
    RATE_LIMIT_PER_SECOND: 1000,
    WEBHOOK_BACKOFF_MS: 300,
  });
}, 45 * 60_000);

afterAll(async () => {
  await stack?.stop();
  await shutdownTracing();
  if (jaeger && jaeger.exitCode === null) {
    const exited = new Promise((resolve) => jaeger?.once('exit', resolve));
    jaeger.kill('SIGTERM');
    const timer = setTimeout(() => jaeger?.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
});

describe('OpenTelemetry traces in Jaeger', { timeout: 120_000 }, () => {
  it('one upload is one trace: gateway, every stage, the finalizer and the webhook dispatcher', async () => {
    const s = stack as TestStack;
    expect(tracingEnabled()).toBe(true);
    const res = await upload(s.api, s.clientId, fixture('single', 0, s.config.UPLOAD_MIN_BYTES));
    expect(res.status).toBe(200);
    const photoId = res.body.id;
    expect((await pollPhoto(s.api, photoId)).status).toBe('complete');
    await waitFor('the livePhoto.completed delivery', () => s.receiver.requests.find((r) => r.body.includes(photoId)));

    const services = {
      gateway: serviceNameOf('gateway'),
      stages: RUN_STAGES.map((stage) => serviceNameOf(`worker-${stage}`)),
      finalizer: serviceNameOf('finalizer'),
      dispatcher: serviceNameOf('webhook-dispatcher'),
    };
    const expected = [services.gateway, ...services.stages, services.finalizer, services.dispatcher];

    // Spans are exported in batches: flush, then wait until Jaeger has the whole trace (the delivery span ends
    // just after the receiver answered).
    const traceDoc = await waitFor(
      'the photo trace with spans from every service',
      async () => {
        await flushTracing();
        const found = await findTraces(services.gateway, { 'selfie.photo_id': photoId });
        if (found.length !== 1) return undefined;
        const candidate = found[0] as JaegerTrace;
        const present = new Set(candidate.spans.map((span) => serviceOf(candidate, span)));
        return expected.every((name) => present.has(name)) ? candidate : undefined;
      },
      30_000,
      500,
    );
    console.log(`trace ${traceDoc.traceID} of photo ${photoId}:\n${renderTree(traceDoc)}`);

    // ONE trace: every span the pipeline services reported for this test (only this upload went through them) is
    // in it, and Jaeger knows every service by name.
    const known = (await jaegerGet<{ data: string[] }>('/api/services')).data;
    expect(known).toEqual(expect.arrayContaining(expected));
    for (const service of expected.slice(1)) {
      const traceIds = new Set((await findTraces(service)).map((t) => t.traceID));
      expect([...traceIds], service).toEqual([traceDoc.traceID]);
    }

    const spans = traceDoc.spans;
    const only = (service: string, operation?: string) => {
      const matching = spans.filter(
        (span) => serviceOf(traceDoc, span) === service && (!operation || span.operationName === operation),
      );
      expect(matching.length, `${service} ${operation ?? ''} spans`).toBe(1);
      return matching[0] as JaegerSpan;
    };

    // The upload request is the root.
    const request = only(services.gateway, 'POST /v1/livePhotos');
    expect(parentOf(request)).toBeUndefined();
    expect(tag(request, 'http.response.status_code')).toBe(200);
    expect(tag(request, 'selfie.photo_id')).toBe(photoId);

    // Faces runs under the request; every later stage and the finalizer under the faces job that added them.
    const faces = only(serviceNameOf('worker-faces'));
    expect(parentOf(faces)).toBe(request.spanID);
    for (const [i, stage] of RUN_STAGES.entries()) {
      const span = only(services.stages[i] as string);
      expect(tag(span, 'selfie.stage'), stage).toBe(stage);
      expect(tag(span, 'selfie.photo_id'), stage).toBe(photoId);
      expect(tag(span, 'selfie.attempt'), stage).toBe(1);
      expect(typeof tag(span, 'selfie.result'), `${stage} result`).toBe('string');
      expect(tag(span, 'messaging.destination.name'), stage).toBe(QUEUES[stage].name);
      if (stage !== 'faces') expect(parentOf(span), stage).toBe(faces.spanID);
    }
    const finalize = only(services.finalizer, 'finalize');
    expect(parentOf(finalize)).toBe(faces.spanID);
    expect(tag(finalize, 'selfie.status')).toBe('complete');
    expect(tag(finalize, 'selfie.transitioned')).toBe(true);

    // The delivery of livePhoto.completed continues the finalize span that published it.
    const delivery = only(services.dispatcher, 'deliver');
    expect(parentOf(delivery)).toBe(finalize.spanID);
    expect(tag(delivery, 'selfie.event_type')).toBe('livePhoto.completed');
    expect(tag(delivery, 'selfie.attempt')).toBe(1);
    expect(tag(delivery, 'http.response.status_code')).toBe(200);
    expect(tag(delivery, 'selfie.delivered')).toBe(true);

    // No span of the photo recorded an error.
    expect(spans.filter((span) => tag(span, 'error') === true).map((span) => span.operationName)).toEqual([]);
  });

  it('records every delivery attempt: a failed one as an error with its status code, then the retry', async () => {
    const s = stack as TestStack;
    let answered = 0;
    s.receiver.respond = () => ({ status: answered++ === 0 ? 500 : 200 });
    const res = await upload(s.api, s.clientId, fixture('single', 0, s.config.UPLOAD_MIN_BYTES));
    expect(res.status).toBe(200);
    const photoId = res.body.id;
    expect((await pollPhoto(s.api, photoId)).status).toBe('complete');
    await waitFor(
      'the retried delivery',
      () => s.receiver.requests.filter((r) => r.body.includes(photoId)).length >= 2,
    );

    const traceDoc = await waitFor(
      'both delivery spans',
      async () => {
        await flushTracing();
        const [found] = await findTraces(serviceNameOf('gateway'), { 'selfie.photo_id': photoId });
        const deliveries = found?.spans.filter((span) => span.operationName === 'deliver') ?? [];
        return deliveries.length === 2 ? found : undefined;
      },
      30_000,
      500,
    );
    console.log(`trace ${traceDoc.traceID} of photo ${photoId} (first delivery refused):\n${renderTree(traceDoc)}`);
    const [failed, retried] = traceDoc.spans
      .filter((span) => span.operationName === 'deliver')
      .sort((a, b) => Number(tag(a, 'selfie.attempt')) - Number(tag(b, 'selfie.attempt'))) as [JaegerSpan, JaegerSpan];
    const finalize = traceDoc.spans.find((span) => span.operationName === 'finalize') as JaegerSpan;

    expect(tag(failed, 'selfie.attempt')).toBe(1);
    expect(tag(failed, 'http.response.status_code')).toBe(500);
    expect(tag(failed, 'selfie.delivered')).toBe(false);
    expect(tag(failed, 'error')).toBe(true);
    const exception = failed.logs.flatMap((log) => log.fields).find((field) => field.key === 'exception.message');
    expect(String(exception?.value)).toContain('delivery attempt 1 failed');

    expect(tag(retried, 'selfie.attempt')).toBe(2);
    expect(tag(retried, 'http.response.status_code')).toBe(200);
    expect(tag(retried, 'error')).toBeUndefined();
    // Both attempts are children of the finalize span: the retry is the same job, with the same trace context.
    expect([parentOf(failed), parentOf(retried)]).toEqual([finalize.spanID, finalize.spanID]);
  });
});
