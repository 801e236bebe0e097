import { randomUUID } from 'node:crypto';
import { ApiError, errors } from '@selfie/contracts';
import type { Logger } from '@selfie/logger';
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import multer from 'multer';
import type { z } from 'zod';

declare global {
  namespace Express {
    interface Locals {
      requestId: string;
      log: Logger;
      accountId: string;
      keyHash: string;
    }
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Accepts a sane incoming X-Request-Id or makes one; echoes it and puts it on every log line of the request. */
export function requestContext(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get('x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.locals.requestId = requestId;
    res.locals.log = logger.child({ reqId: requestId });
    res.setHeader('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const line = { method: req.method, path: req.path, status: res.statusCode, ms: Math.round(ms * 10) / 10 };
      if (res.statusCode >= 500) res.locals.log.warn(line, 'request failed');
      else res.locals.log.debug(line, 'request');
    });
    next();
  };
}

function describeIssue(issue: z.core.$ZodIssue): ApiError {
  // A bad record key is reported on the record itself: never echo an arbitrary (possibly huge) key back.
  if (issue.code === 'invalid_key') {
    const inner = issue.issues[0]?.message ?? issue.message;
    return describeIssue({
      ...issue,
      code: 'custom',
      path: issue.path.slice(0, -1),
      message: inner,
    } as z.core.$ZodIssue);
  }
  const path = issue.path.map((p) => String(p).slice(0, 100));
  const param = path.length ? path.join('.') : undefined;
  if (!param) return errors.invalid(`The request body is invalid: ${issue.message}`);
  if (issue.code === 'invalid_type' && /received undefined$/.test(issue.message)) {
    return errors.invalid(`The field '${param}' is required`, param);
  }
  const detail = issue.message.replace(/^Invalid input: /, '');
  return errors.invalid(`Invalid '${param}': ${detail}`, param);
}

/** Validates with a contract schema; the first issue becomes a 400 `invalid_request` naming the field. */
export function parseBody<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  if (input === undefined || input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw errors.invalid('The request body must be a JSON object');
  }
  const result = schema.safeParse(input);
  if (!result.success) throw describeIssue(result.error.issues[0]!);
  return result.data;
}

export function parseQuery<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input ?? {});
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const param = issue.path.map(String).join('.');
    const detail = issue.message.replace(/^Invalid input: /, '');
    throw errors.invalid(`Invalid query parameter '${param}': ${detail}`, param || undefined);
  }
  return result.data;
}

export const notFoundRoute: RequestHandler = (req) => {
  throw errors.notFound(`Unknown endpoint ${req.method} ${req.path}`);
};

interface HttpError {
  type?: string;
  status?: number;
  statusCode?: number;
  expose?: boolean;
}

/** Maps anything thrown to the flat ComplyCube error body; stack traces go to the log, never to the client. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof multer.MulterError) {
    switch (err.code) {
      case 'LIMIT_FILE_SIZE':
        return errors.invalid('Image file size is too large', 'file');
      case 'LIMIT_UNEXPECTED_FILE':
        return errors.invalid(`Unexpected file part '${err.field ?? ''}': send the image as 'file'`, err.field);
      case 'LIMIT_FILE_COUNT':
        return errors.invalid('Send exactly one file part', 'file');
      default:
        return errors.invalid(`Malformed multipart body: ${err.message}`, err.field);
    }
  }
  const http = err as HttpError | null;
  if (http && typeof http === 'object' && typeof http.type === 'string') {
    // body-parser errors
    switch (http.type) {
      case 'entity.too.large':
        return errors.tooLarge();
      case 'entity.parse.failed':
        return errors.invalid('The request body is not valid JSON');
      case 'encoding.unsupported':
      case 'charset.unsupported':
        return errors.invalid('Unsupported request body encoding or charset');
      case 'request.aborted':
      case 'request.size.invalid':
      case 'stream.encoding.set':
        return errors.invalid('The request body could not be read');
    }
  }
  // busboy (multipart) parse errors carry no code: they are client errors by construction.
  if (err instanceof Error && /^(Multipart|Unexpected end of form|Malformed part header)/.test(err.message)) {
    return errors.invalid(`Malformed multipart body: ${err.message}`);
  }
  const status = http?.status ?? http?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500 && http?.expose) {
    return errors.invalid('The request could not be processed');
  }
  return errors.internal(err);
}

export const errorHandler: ErrorRequestHandler = (err: unknown, req: Request, res: Response, _next: NextFunction) => {
  const apiError = toApiError(err);
  const log = res.locals.log;
  if (apiError.status >= 500) {
    log?.error({ err: apiError.cause ?? err, method: req.method, path: req.path }, apiError.message);
  } else {
    log?.debug({ code: apiError.code, message: apiError.message }, 'request rejected');
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // The request may be only partly read (413, multipart errors): close so the client does not keep sending.
  if (!req.complete) res.setHeader('Connection', 'close');
  res.status(apiError.status).set(apiError.headers).json(apiError.toBody());
};
