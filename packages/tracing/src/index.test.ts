import { ZFinalizeJob, ZStageJob, ZWebhookJob } from '@selfie/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import {
  flushTracing,
  initTracing,
  injectTrace,
  inSpan,
  serviceNameOf,
  setSpanAttributes,
  shutdownTracing,
  traceIdOf,
  tracingEnabled,
  withTrace,
} from './index.js';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/;
const incoming = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', tracestate: 'vendor=x' };

afterEach(async () => {
  await shutdownTracing(1000);
});

describe('job payloads', () => {
  const stage = { photoId: 'a'.repeat(24), accountId: 'b'.repeat(24), objectKey: 'k', performLivenessCheck: true };

  it('parse without a trace (jobs from before tracing) and keep a valid one', () => {
    expect(ZStageJob.parse(stage)).toEqual(stage);
    expect(ZStageJob.parse({ ...stage, trace: incoming }).trace).toEqual(incoming);
    expect(ZFinalizeJob.parse({ photoId: stage.photoId, accountId: stage.accountId, trace: incoming }).trace).toEqual(
      incoming,
    );
    const webhook = { eventId: 'e1', webhookId: stage.photoId, accountId: stage.accountId };
    expect(ZWebhookJob.parse(webhook)).toEqual(webhook);
  });

  it('drop a malformed trace instead of refusing the job', () => {
    expect(ZStageJob.parse({ ...stage, trace: 42 }).trace).toBeUndefined();
    expect(ZStageJob.parse({ ...stage, trace: { traceparent: 'x'.repeat(300) } }).trace).toBeUndefined();
  });
});

describe('with tracing off (no OTEL_EXPORTER_OTLP_ENDPOINT)', () => {
  it('does nothing: helpers pass through, the carried context goes on unchanged', async () => {
    expect(initTracing({})).toBe(false);
    expect(tracingEnabled()).toBe(false);
    const data = { photoId: 'p' };
    expect(withTrace(data)).toBe(data);
    expect(withTrace(data, incoming)).toEqual({ photoId: 'p', trace: incoming });
    expect(injectTrace(incoming)).toBe(incoming);
    expect(await inSpan('worker-faces', 'x', { parent: incoming }, async () => 7)).toBe(7);
    setSpanAttributes({ 'selfie.stage': 'faces' });
    await flushTracing();
  });
});

describe('with tracing on', () => {
  // Nothing listens there: exports fail quietly, which is also what a collector outage looks like.
  const config = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9/', OTEL_TRACES_SAMPLER_ARG: 1 };

  it('continues the carried trace in a child span and hands that span on', async () => {
    expect(initTracing(config)).toBe(true);
    expect(initTracing(config)).toBe(true);
    const inner = await inSpan('worker-faces', 'inspect-faces', { kind: 'consumer', parent: incoming }, async () => {
      setSpanAttributes({ 'selfie.stage': 'faces', 'selfie.result': undefined });
      return withTrace({ photoId: 'p' });
    });
    const [, traceId, spanId] = TRACEPARENT.exec(inner.trace?.traceparent ?? '') ?? [];
    expect(traceId).toBe(traceIdOf(incoming));
    expect(spanId).toBeDefined();
    expect(spanId).not.toBe('00f067aa0ba902b7');
    expect(inner.trace?.tracestate).toBe('vendor=x');
    // Outside any span, the fallback is what goes on.
    expect(injectTrace(incoming)).toBe(incoming);
  });

  it('starts a new trace from a missing or invalid carrier, and records the error of a failed job', async () => {
    initTracing(config);
    const fresh = await inSpan('finalizer', 'finalize', { parent: { traceparent: 'garbage' } }, async () =>
      injectTrace(),
    );
    expect(traceIdOf(fresh)).toBeDefined();
    expect(traceIdOf(fresh)).not.toBe(traceIdOf(incoming));
    await expect(
      inSpan('webhook-dispatcher', 'deliver', { parent: 'root' }, async () => {
        throw new Error('delivery attempt 1 failed');
      }),
    ).rejects.toThrow('delivery attempt 1 failed');
  });

  it('samples whole photos: ratio 0 marks the root unsampled, and its children follow', async () => {
    initTracing({ ...config, OTEL_TRACES_SAMPLER_ARG: 0 });
    const carried = await inSpan('gateway', 'POST /v1/livePhotos', { kind: 'server', parent: 'root' }, async () =>
      injectTrace(),
    );
    expect(carried?.traceparent).toMatch(/-00$/);
    const child = await inSpan('worker-faces', 'inspect-faces', { parent: carried }, async () => injectTrace());
    expect(child?.traceparent).toMatch(/-00$/);
    expect(traceIdOf(child)).toBe(traceIdOf(carried));
  });

  it('names each component as its own service unless OTEL_SERVICE_NAME says otherwise', () => {
    expect(serviceNameOf('worker-faces')).toBe('selfie-worker-faces');
    expect(serviceNameOf('gateway', { OTEL_SERVICE_NAME: 'kyc' })).toBe('kyc');
  });
});
