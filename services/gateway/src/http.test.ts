import { ApiError, ERROR_HTTP, ErrorCode } from '@selfie/contracts';
import multer from 'multer';
import { describe, expect, it } from 'vitest';
import { toApiError } from './http.js';

describe('toApiError', () => {
  it('maps unknown faults to a 500 body without internals', () => {
    const err = toApiError(new Error('secret path /etc/x at foo.ts:1'));
    expect(err.status).toBe(500);
    expect(err.toBody()).toEqual({ type: 'internal_server_error', message: 'An unexpected error occurred' });
  });

  it('maps body-parser and multer errors to client errors', () => {
    expect(toApiError({ type: 'entity.too.large', status: 413 }).toBody()).toEqual({
      type: 'invalid_request',
      message: 'The request body is too large',
    });
    expect(toApiError({ type: 'entity.too.large' }).status).toBe(413);
    expect(toApiError({ type: 'entity.parse.failed' }).status).toBe(400);
    expect(toApiError(new multer.MulterError('LIMIT_UNEXPECTED_FILE', 'photo')).toBody()).toMatchObject({
      param: 'photo',
    });
    expect(toApiError(new Error('Unexpected end of form')).status).toBe(400);
  });

  it('maps every error code to the status and type of the contract table', () => {
    const table = Object.fromEntries(
      Object.values(ErrorCode).map((code) => [code, `${ERROR_HTTP[code].status} ${ERROR_HTTP[code].type}`]),
    );
    expect(table).toEqual({
      INVALID_REQUEST: '400 invalid_request',
      UNAUTHORIZED: '401 unauthorized',
      FORBIDDEN: '403 unauthorized',
      NOT_FOUND: '404 resource_not_found',
      PAYLOAD_TOO_LARGE: '413 invalid_request',
      UNPROCESSABLE_IMAGE: '422 unprocessable_image',
      RATE_LIMITED: '429 rate_limit_exceeded',
      INTERNAL: '500 internal_server_error',
      SERVICE_UNAVAILABLE: '503 service_unavailable',
    });
    const limited = new ApiError(ErrorCode.RATE_LIMITED, 'x', undefined, { headers: { 'Retry-After': '1' } });
    expect(limited.headers).toEqual({ 'Retry-After': '1' });
  });
});
