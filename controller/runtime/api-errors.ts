/**
 * Reading client-node failures for logs: the HTTP status and the API server's one-word reason, and a
 * one-line message. Never the raw ApiException message, which repeats the whole response body and headers.
 */

/** The HTTP status of a client-node failure (ApiException `code`, watch error `statusCode`), else undefined. */
export function apiStatus(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown } | null | undefined;
  if (typeof e?.code === 'number') return e.code;
  if (typeof e?.statusCode === 'number') return e.statusCode;
  return undefined;
}

/**
 * `{ name, message, status?, reason? }` for a log line: for an ApiException, the Status body's message and
 * reason (`NotFound`, `Conflict`, …); otherwise the first line of the error's message. Never throws.
 */
export function apiErrorFields(err: unknown): Record<string, unknown> {
  const e = err as { name?: unknown; message?: unknown; body?: unknown } | null | undefined;
  const status = apiStatus(err);
  let body = e?.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      body = undefined;
    }
  }
  const statusBody = (body ?? {}) as { message?: unknown; reason?: unknown };
  const firstLine = typeof e?.message === 'string' ? e.message.split('\n')[0]! : String(err);
  return {
    name: typeof e?.name === 'string' ? e.name : 'Error',
    message: typeof statusBody.message === 'string' ? statusBody.message : firstLine,
    ...(status !== undefined ? { status } : {}),
    ...(typeof statusBody.reason === 'string' ? { reason: statusBody.reason } : {}),
  };
}
