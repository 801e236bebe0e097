import { z } from 'zod';

/**
 * The one list of API error codes. Each maps to an HTTP status and to the ComplyCube wire `type` here and
 * nowhere else; handlers throw `ApiError`s and the gateway's error middleware renders them.
 */
export const ErrorCode = {
  INVALID_REQUEST: 'INVALID_REQUEST',
  UNAUTHORIZED: 'UNAUTHORIZED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNPROCESSABLE_IMAGE: 'UNPROCESSABLE_IMAGE',
  RATE_LIMITED: 'RATE_LIMITED',
  INTERNAL: 'INTERNAL',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
} as const;
export type TErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const ERROR_TYPES = [
  'invalid_request',
  'unauthorized',
  'resource_not_found',
  'unprocessable_image',
  'rate_limit_exceeded',
  'internal_server_error',
  'service_unavailable',
] as const;
export type TErrorType = (typeof ERROR_TYPES)[number];

export const ERROR_HTTP: Record<TErrorCode, { status: number; type: TErrorType }> = {
  INVALID_REQUEST: { status: 400, type: 'invalid_request' },
  UNAUTHORIZED: { status: 401, type: 'unauthorized' },
  // ComplyCube uses the same `type` for "not allowed" as for "not authenticated".
  FORBIDDEN: { status: 403, type: 'unauthorized' },
  NOT_FOUND: { status: 404, type: 'resource_not_found' },
  PAYLOAD_TOO_LARGE: { status: 413, type: 'invalid_request' },
  UNPROCESSABLE_IMAGE: { status: 422, type: 'unprocessable_image' },
  RATE_LIMITED: { status: 429, type: 'rate_limit_exceeded' },
  INTERNAL: { status: 500, type: 'internal_server_error' },
  SERVICE_UNAVAILABLE: { status: 503, type: 'service_unavailable' },
};

/** The flat error body: never wrapped, `param` only when one field is at fault. */
export const ZErrorBody = z
  .object({
    type: z.enum(ERROR_TYPES),
    message: z.string(),
    param: z.string().optional(),
  })
  .meta({ id: 'Error' });
export type TErrorBody = z.infer<typeof ZErrorBody>;

export class ApiError extends Error {
  constructor(
    readonly code: TErrorCode,
    message: string,
    readonly param?: string,
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ApiError';
    this.headers = options?.headers ?? {};
  }

  readonly headers: Record<string, string>;

  get status(): number {
    return ERROR_HTTP[this.code].status;
  }

  toBody(): TErrorBody {
    const body: TErrorBody = { type: ERROR_HTTP[this.code].type, message: this.message };
    if (this.param !== undefined) body.param = this.param;
    return body;
  }
}

/** Shorthands so call sites read like the contract's error table. */
export const errors = {
  invalid: (message: string, param?: string) => new ApiError(ErrorCode.INVALID_REQUEST, message, param),
  missingQuery: (param: string) =>
    new ApiError(ErrorCode.INVALID_REQUEST, `The query parameter '${param}' is required`, param),
  unauthorized: () => new ApiError(ErrorCode.UNAUTHORIZED, "The 'Authorization' header is invalid"),
  forbidden: (message = 'This API key is not allowed to perform this request') =>
    new ApiError(ErrorCode.FORBIDDEN, message),
  notFound: (message: string) => new ApiError(ErrorCode.NOT_FOUND, message),
  livePhotoNotFound: (id: string) => new ApiError(ErrorCode.NOT_FOUND, `Invalid live photo id '${id}'`),
  clientNotFound: (id: string) => new ApiError(ErrorCode.NOT_FOUND, `Invalid client id '${id}'`),
  webhookNotFound: (id: string) => new ApiError(ErrorCode.NOT_FOUND, `Invalid webhook id '${id}'`),
  tooLarge: (message = 'The request body is too large') => new ApiError(ErrorCode.PAYLOAD_TOO_LARGE, message),
  unprocessableImage: (message = 'The image could not be decoded as a JPG or PNG', param = 'data') =>
    new ApiError(ErrorCode.UNPROCESSABLE_IMAGE, message, param),
  rateLimited: (retryAfterSeconds: number) =>
    new ApiError(ErrorCode.RATE_LIMITED, 'Too many requests, please retry later', undefined, {
      headers: { 'Retry-After': String(retryAfterSeconds) },
    }),
  internal: (cause?: unknown) => new ApiError(ErrorCode.INTERNAL, 'An unexpected error occurred', undefined, { cause }),
  unavailable: (service: string, cause?: unknown) =>
    new ApiError(
      ErrorCode.SERVICE_UNAVAILABLE,
      `A backing service is unavailable (${service}), please retry`,
      undefined,
      {
        cause,
      },
    ),
};
