import { routeLabel } from '@selfie/metrics';
import { bindToSpan, markSpanFailed, startSpan, type TraceCarrier, withSpan } from '@selfie/tracing';
import type { RequestHandler } from 'express';

/**
 * A server span for every API request, the root of its trace: an upload's span is the root of the photo's trace,
 * which the jobs it enqueues carry on. A caller's own `traceparent` becomes a link rather than the parent, so
 * callers of a public API do not choose the trace our work is recorded in. Mount it only with tracing on.
 */
export function traceRequests(): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get('traceparent');
    const state = req.get('tracestate');
    const links: TraceCarrier[] = incoming ? [{ traceparent: incoming, ...(state ? { tracestate: state } : {}) }] : [];
    const span = startSpan('gateway', `${req.method} ${req.baseUrl}`, {
      kind: 'server',
      parent: 'root',
      links,
      attributes: {
        'http.request.method': req.method,
        'url.path': req.originalUrl.split('?')[0],
        'user_agent.original': req.get('user-agent'),
      },
    });
    if (!span) {
      next();
      return;
    }
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      const route = routeLabel(req);
      span.updateName(`${req.method} ${route}`);
      span.setAttribute('http.route', route);
      span.setAttribute('http.response.status_code', res.statusCode);
      const accountId: unknown = res.locals.accountId;
      if (typeof accountId === 'string') span.setAttribute('selfie.account_id', accountId);
      if (res.statusCode >= 500) markSpanFailed(span, `HTTP ${res.statusCode}`);
      span.end();
    };
    res.once('finish', end);
    // A client that hangs up early still ends the span, with the status that was about to be sent.
    res.once('close', end);
    // Body parsers continue from the request's stream events: bind them (after our own listeners) to the span.
    bindToSpan(span, req, res);
    withSpan(span, next);
  };
}
