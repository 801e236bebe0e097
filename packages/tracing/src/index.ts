import type { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import {
  type Attributes,
  type Context,
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  type Link,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { setGlobalErrorHandler, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';

export type { Span };

/**
 * OpenTelemetry tracing for every service, set up from configuration and off (no SDK object, no context manager,
 * helpers that return at once) unless OTEL_EXPORTER_OTLP_ENDPOINT is set.
 *
 * One trace per photo: the gateway's request span is the root; its W3C trace context (`traceparent`, `tracestate`)
 * travels in the job data (the `trace` field of the payload schemas), and each consumer continues it. Every
 * component gets its own service name (`selfie-gateway`, `selfie-worker-faces`, ...), also when several run in one
 * process (the all-in-one), so a trace backend shows which service did what.
 */

/** The configuration this package reads (structural: a TConfig fits). */
export interface TracingConfig {
  OTEL_EXPORTER_OTLP_ENDPOINT?: string | undefined;
  OTEL_SERVICE_NAME?: string | undefined;
  OTEL_TRACES_SAMPLER_ARG?: number | undefined;
}

/** W3C trace context as carried in job data. */
export interface TraceCarrier {
  traceparent: string;
  tracestate?: string;
}

/** Span attributes; `undefined` values are left out. */
export type SpanAttributes = Record<string, string | number | boolean | string[] | undefined>;

export type SpanKindName = 'server' | 'client' | 'producer' | 'consumer' | 'internal';

export interface SpanOptions {
  kind?: SpanKindName;
  attributes?: SpanAttributes;
  /**
   * The parent: a carrier from job data, `'active'` (the current context, the default) or `'root'` (a new trace).
   * An undefined or invalid carrier starts a new trace.
   */
  parent?: TraceCarrier | 'active' | 'root' | undefined;
  /** Trace contexts this span relates to without being their child (e.g. a caller's own `traceparent`). */
  links?: TraceCarrier[];
}

interface Logger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

interface State {
  key: string;
  endpoint: string;
  serviceName: string | undefined;
  ratio: number;
  providers: Map<string, BasicTracerProvider>;
  tracers: Map<string, Tracer>;
}

const KINDS: Record<SpanKindName, SpanKind> = {
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
  internal: SpanKind.INTERNAL,
};

const propagator = new W3CTraceContextPropagator();
let state: State | undefined;
let contextManager: AsyncLocalStorageContextManager | undefined;
let lastExportWarning = 0;

/** The span helpers' stand-in when tracing is off: every method is a no-op. */
const NOOP_SPAN: Span = trace.wrapSpanContext({ traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 0 });

function exporterUrl(endpoint: string): string {
  // OTEL_EXPORTER_OTLP_ENDPOINT is the base URL; the traces signal has its own path below it (OTLP/HTTP spec).
  return `${endpoint.replace(/\/+$/, '')}/v1/traces`;
}

/**
 * Turns tracing on for this process when `config` names an OTLP endpoint; without one it does nothing (tracing
 * stays off, or stays as an earlier call set it). Calling it again with the same settings is a no-op, so every
 * service's start function can call it; other settings replace the earlier ones. Returns whether tracing is on.
 */
export function initTracing(config: TracingConfig, logger?: Logger): boolean {
  const endpoint = config.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!endpoint) return state !== undefined;
  const ratio = Math.min(1, Math.max(0, config.OTEL_TRACES_SAMPLER_ARG ?? 1));
  const key = JSON.stringify([endpoint, config.OTEL_SERVICE_NAME ?? '', ratio]);
  if (state?.key === key) return true;
  if (state) void shutdownProviders(state);
  if (!contextManager) {
    contextManager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(contextManager);
    // Export failures (collector down) come here: one warning a minute, never an exception in a job or request.
    setGlobalErrorHandler((err) => {
      const now = Date.now();
      if (now - lastExportWarning < 60_000) return;
      lastExportWarning = now;
      logger?.warn({ err: err instanceof Error ? err.message : String(err) }, 'trace export failed');
    });
  }
  state = {
    key,
    endpoint,
    serviceName: config.OTEL_SERVICE_NAME,
    ratio,
    providers: new Map(),
    tracers: new Map(),
  };
  logger?.info({ endpoint: exporterUrl(endpoint), sampleRatio: ratio }, 'tracing on (OTLP/HTTP)');
  return true;
}

export function tracingEnabled(): boolean {
  return state !== undefined;
}

/** The service name a component's spans are reported under. */
export function serviceNameOf(component: string, config: TracingConfig = {}): string {
  return config.OTEL_SERVICE_NAME || `selfie-${component}`;
}

function tracerFor(s: State, component: string): Tracer {
  let tracer = s.tracers.get(component);
  if (tracer) return tracer;
  const serviceName = serviceNameOf(component, { OTEL_SERVICE_NAME: s.serviceName });
  let provider = s.providers.get(serviceName);
  if (!provider) {
    provider = new BasicTracerProvider({
      resource: resourceFromAttributes({
        'service.name': serviceName,
        'service.namespace': 'selfie-inspect',
        'host.name': hostname(),
        'process.pid': process.pid,
      }),
      // The root (the gateway's request) decides for the whole photo; consumers follow the flag in traceparent.
      sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(s.ratio) }),
      spanProcessors: [
        new BatchSpanProcessor(new OTLPTraceExporter({ url: exporterUrl(s.endpoint), timeoutMillis: 10_000 }), {
          // Bounded: with the collector down, spans beyond this are dropped rather than held in memory.
          maxQueueSize: 4096,
          maxExportBatchSize: 512,
          scheduledDelayMillis: 1000,
        }),
      ],
    });
    s.providers.set(serviceName, provider);
  }
  tracer = provider.getTracer('@selfie/tracing');
  s.tracers.set(component, tracer);
  return tracer;
}

function cleanAttributes(attributes: SpanAttributes): Attributes {
  const clean: Attributes = {};
  for (const [key, value] of Object.entries(attributes)) if (value !== undefined) clean[key] = value;
  return clean;
}

function contextOf(carrier: TraceCarrier | undefined): Context | undefined {
  if (!carrier || typeof carrier.traceparent !== 'string') return undefined;
  const ctx = propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
  return trace.getSpanContext(ctx) ? ctx : undefined;
}

function parentContext(parent: SpanOptions['parent']): Context {
  if (parent === undefined || parent === 'active') return context.active();
  if (parent === 'root') return ROOT_CONTEXT;
  return contextOf(parent) ?? ROOT_CONTEXT;
}

function linksOf(carriers: TraceCarrier[] | undefined): Link[] | undefined {
  const links: Link[] = [];
  for (const carrier of carriers ?? []) {
    const spanContext = trace.getSpanContext(contextOf(carrier) ?? ROOT_CONTEXT);
    if (spanContext) links.push({ context: spanContext });
  }
  return links.length > 0 ? links : undefined;
}

/**
 * Starts a span that the caller ends (`endSpan`); undefined when tracing is off. For work whose end is an event
 * (an HTTP response's `finish`) rather than a promise; otherwise use `inSpan`.
 */
export function startSpan(component: string, name: string, options: SpanOptions = {}): Span | undefined {
  if (!state) return undefined;
  const links = linksOf(options.links);
  return tracerFor(state, component).startSpan(
    name,
    {
      kind: KINDS[options.kind ?? 'internal'],
      ...(options.attributes ? { attributes: cleanAttributes(options.attributes) } : {}),
      ...(links ? { links } : {}),
    },
    parentContext(options.parent),
  );
}

/** Runs `fn` with `span` as the current span, so what it enqueues carries the span's context. */
export function withSpan<T>(span: Span | undefined, fn: () => T): T {
  if (!span) return fn();
  return context.with(trace.setSpan(context.active(), span), fn);
}

/**
 * Binds event emitters (an HTTP request and its response) to the span's context: listeners added from now on run
 * with the span current. Without it, work continued from a stream event (a body parser's `end`) would run in the
 * socket's context and lose the span.
 */
export function bindToSpan(span: Span | undefined, ...emitters: EventEmitter[]): void {
  if (!span) return;
  const ctx = trace.setSpan(context.active(), span);
  for (const emitter of emitters) context.bind(ctx, emitter);
}

/** Records an error on a span: the exception event and an ERROR status. */
export function recordError(span: Span | undefined, err: unknown): void {
  if (!span) return;
  if (err instanceof Error) span.recordException(err);
  else span.recordException(String(err));
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
}

/** Marks a span failed without an exception (e.g. an HTTP 5xx answer). */
export function markSpanFailed(span: Span | undefined, message: string): void {
  span?.setStatus({ code: SpanStatusCode.ERROR, message });
}

/** Ends a span, recording `err` first when given. */
export function endSpan(span: Span | undefined, err?: unknown): void {
  if (!span) return;
  if (err !== undefined) recordError(span, err);
  span.end();
}

/**
 * Runs `fn` in a new current span, ended when `fn` settles; a rejection is recorded on the span and rethrown.
 * With tracing off it is `fn(noop span)` and nothing else.
 */
export async function inSpan<T>(
  component: string,
  name: string,
  options: SpanOptions,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const span = startSpan(component, name, options);
  if (!span) return fn(NOOP_SPAN);
  try {
    return await withSpan(span, () => fn(span));
  } catch (err) {
    recordError(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/** Adds attributes to the current span (no-op with tracing off or outside a span). */
export function setSpanAttributes(attributes: SpanAttributes): void {
  if (!state) return;
  trace.getActiveSpan()?.setAttributes(cleanAttributes(attributes));
}

/**
 * The current trace context as a carrier for job data; `fallback` (e.g. the context the current job arrived with)
 * when tracing is off here or no span is current, so a context is passed on through a service that does not trace.
 */
export function injectTrace(fallback?: TraceCarrier): TraceCarrier | undefined {
  if (!state) return fallback;
  const ctx = context.active();
  if (!trace.getSpanContext(ctx)) return fallback;
  const carrier: Record<string, string> = {};
  propagator.inject(ctx, carrier, defaultTextMapSetter);
  if (!carrier.traceparent) return fallback;
  return carrier.tracestate
    ? { traceparent: carrier.traceparent, tracestate: carrier.tracestate }
    : { traceparent: carrier.traceparent };
}

/** `data` with a `trace` field holding the current trace context (see injectTrace); `data` itself when there is none. */
export function withTrace<T extends object>(data: T, fallback?: TraceCarrier): T & { trace?: TraceCarrier } {
  const carrier = injectTrace(fallback);
  return carrier ? { ...data, trace: carrier } : data;
}

/** The trace id of a carrier (32 hex digits), for logs and tests. */
export function traceIdOf(carrier: TraceCarrier | undefined): string | undefined {
  return trace.getSpanContext(contextOf(carrier) ?? ROOT_CONTEXT)?.traceId;
}

/** The current span's trace id, when tracing is on and a span is current. */
export function currentTraceId(): string | undefined {
  if (!state) return undefined;
  return trace.getActiveSpan()?.spanContext().traceId;
}

/** Sends every finished span now (before a test queries the backend, or before exit). */
export async function flushTracing(): Promise<void> {
  if (!state) return;
  await Promise.allSettled([...state.providers.values()].map((p) => p.forceFlush()));
}

async function shutdownProviders(s: State): Promise<void> {
  await Promise.allSettled([...s.providers.values()].map((p) => p.shutdown()));
}

/** Flushes and stops exporting; tracing is off afterwards until the next initTracing. Bounded by `timeoutMs`. */
export async function shutdownTracing(timeoutMs = 5000): Promise<void> {
  const s = state;
  if (!s) return;
  state = undefined;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    shutdownProviders(s),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
}
