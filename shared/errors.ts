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
  const messages = new Set<string>();
  collectMessages(error, new Set(), messages);
  return [...messages].join('; ');
}

type ErrorLike = { message?: unknown; name?: unknown; code?: unknown; errors?: unknown };

/** The messages of an error, or of the errors it holds when it has none itself; each error read once. */
function collectMessages(error: unknown, seen: Set<unknown>, messages: Set<string>): void {
  const { message, errors, code, name } = (error ?? {}) as ErrorLike;
  if (typeof message !== 'string') {
    messages.add(String(error));
    return;
  }
  if (message !== '') {
    const newline = message.indexOf('\n');
    messages.add(newline > 0 ? message.slice(0, newline) : message);
    return;
  }
  if (seen.has(error)) return;
  seen.add(error);
  if (Array.isArray(errors) && errors.length > 0) {
    for (const inner of errors) collectMessages(inner, seen, messages);
  } else if (typeof code === 'string' && code !== '') messages.add(code);
  else messages.add(typeof name === 'string' && name !== '' ? name : 'an error with no message');
}

/** Whether an Azure SDK error (RestError, ErrorResponse) has one of these HTTP statuses. */
export function hasStatus(error: unknown, ...statuses: number[]): boolean {
  const status = (error as { statusCode?: unknown } | null | undefined)?.statusCode;
  return typeof status === 'number' && statuses.includes(status);
}
