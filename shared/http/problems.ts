import { HttpResponseInit } from '@azure/functions';

/**
 * The error taxonomy of the HTTP API. Every 4xx/5xx body has the same shape,
 * `{ "error": { "code", "message", "field"?, "details"? } }`, so clients can branch on `code` and show `field`.
 */
export type ProblemCode =
  | 'invalid_json'
  | 'invalid_request'
  | 'unsupported_media_type'
  | 'payload_too_large'
  | 'method_not_allowed'
  | 'origin_not_allowed'
  | 'service_unavailable'
  | 'internal_error';

const statusOf: Record<ProblemCode, number> = {
  invalid_json: 400,
  invalid_request: 400,
  unsupported_media_type: 415,
  payload_too_large: 413,
  method_not_allowed: 405,
  origin_not_allowed: 403,
  service_unavailable: 503,
  internal_error: 500,
};

export interface FieldError {
  /** A JSON path such as `events[3].userId` or `userId`. */
  field: string;
  message: string;
}

export class HttpProblem extends Error {
  override name = 'HttpProblem';
  constructor(
    readonly code: ProblemCode,
    message: string,
    readonly field?: string,
    readonly details?: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  get status(): number {
    return statusOf[this.code];
  }

  toResponse(extraHeaders: Record<string, string> = {}): HttpResponseInit {
    return {
      status: this.status,
      headers: { ...extraHeaders, ...this.headers },
      jsonBody: {
        error: {
          code: this.code,
          message: this.message,
          ...(this.field !== undefined ? { field: this.field } : {}),
          ...(this.details !== undefined ? { details: this.details } : {}),
        },
      },
    };
  }
}

/** Turns zod issue paths into `a.b[2].c` strings, prefixed by where the value came from. */
export function fieldPath(prefix: string, path: ReadonlyArray<PropertyKey>): string {
  let out = prefix;
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? String(segment) : `.${String(segment)}`;
  }
  return out === '' ? '(body)' : out;
}
