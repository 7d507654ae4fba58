/**
 * Reading errors of any origin for logs and decisions. Both are duck-typed: errors of Node's own modules
 * (zlib, net) need not be instances of this realm's Error (they are not under jest), and an SDK's error
 * class may be loaded twice.
 */

/**
 * An error's message for a log line or a report: its first line (an Azure RestError's message goes on
 * with the request id, the time and XML details), or the whole value as text if it has no message.
 */
export function errorMessage(error: unknown): string {
  const message = (error as { message?: unknown } | null | undefined)?.message;
  if (typeof message !== 'string') return String(error);
  const newline = message.indexOf('\n');
  return newline > 0 ? message.slice(0, newline) : message;
}

/** Whether an Azure SDK error (RestError, ErrorResponse) has one of these HTTP statuses. */
export function hasStatus(error: unknown, ...statuses: number[]): boolean {
  const status = (error as { statusCode?: unknown } | null | undefined)?.statusCode;
  return typeof status === 'number' && statuses.includes(status);
}
