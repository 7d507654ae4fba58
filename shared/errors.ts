/**
 * Reading errors of any origin for logs and decisions. Both are duck-typed: errors of Node's own modules
 * (zlib, net) need not be instances of this realm's Error (they are not under jest), and an SDK's error
 * class may be loaded twice.
 */

/**
 * An error's message for a log line or a report: its first line (an Azure RestError's message goes on
 * with the request id, the time and XML details), or the whole value as text if it has no message. An
 * error with an empty message says what it can instead: an AggregateError (Node's connect to a host
 * with several addresses, refused on each) the messages of the errors it holds, others their code or name.
 */
export function errorMessage(error: unknown): string {
  const message = (error as { message?: unknown } | null | undefined)?.message;
  if (typeof message !== 'string') return String(error);
  if (message === '')
    return emptyMessageDescription(error as { name?: unknown; code?: unknown; errors?: unknown });
  const newline = message.indexOf('\n');
  return newline > 0 ? message.slice(0, newline) : message;
}

function emptyMessageDescription(error: { name?: unknown; code?: unknown; errors?: unknown }): string {
  if (Array.isArray(error.errors) && error.errors.length > 0) {
    return [...new Set(error.errors.map((inner) => errorMessage(inner)))].join('; ');
  }
  if (typeof error.code === 'string' && error.code !== '') return error.code;
  return typeof error.name === 'string' && error.name !== '' ? error.name : 'an error with no message';
}

/** Whether an Azure SDK error (RestError, ErrorResponse) has one of these HTTP statuses. */
export function hasStatus(error: unknown, ...statuses: number[]): boolean {
  const status = (error as { statusCode?: unknown } | null | undefined)?.statusCode;
  return typeof status === 'number' && statuses.includes(status);
}
