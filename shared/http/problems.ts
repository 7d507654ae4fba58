import { HttpResponseInit } from '@azure/functions';
import type { z } from 'zod';

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

/** How a value of each type is named in "must be …" messages. */
const typeNames: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'a boolean',
  array: 'an array',
  object: 'an object',
  record: 'an object',
};

/**
 * zod's messages for the fields of a caller's request, passed to `safeParse` where the request is checked.
 * zod's own message for a missing field reads "Invalid input: expected string, received undefined"; a
 * caller gets "is required", and "must be a number" for a value of the wrong type. Messages the schema
 * sets itself (lengths, patterns, unknown event types) come first; anything else keeps zod's default.
 */
export const requestFieldMessages: z.core.$ZodErrorMap = (issue) => {
  if (issue.code !== 'invalid_type') return undefined;
  if (issue.input === undefined) return 'is required';
  const expected = typeNames[issue.expected];
  return expected === undefined ? undefined : `must be ${expected}`;
};

/** The `safeParse` options that apply `requestFieldMessages`, built once for every request's parse. */
export const requestParseOptions = { error: requestFieldMessages };
