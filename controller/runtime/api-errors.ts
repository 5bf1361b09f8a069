/**
 * Reading client-node failures: the HTTP status, the API server's one-word reason, a one-line message for
 * logs, and the project's typed error for callers. Never the raw ApiException message, which repeats the
 * whole response body and headers (and so could carry secret data).
 */
import { SigilError, StalledError, TransientError } from '../../shared/errors.js';

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

/**
 * A typed error for a failed API call `what` (e.g. `create Secret prod/db`), with the status code and the
 * API server's reason word only, and the original error as `cause`: 400 and 422 are permanent
 * (StalledError); everything else (conflicts, throttling, 403 while RBAC propagates, network) is retried.
 */
export function kubeError(reason: string, what: string, err: unknown): SigilError {
  if (err instanceof SigilError) return err;
  const status = apiStatus(err);
  const word = apiErrorFields(err).reason;
  const detail =
    status === undefined
      ? String((err as { code?: unknown } | null)?.code ?? 'network error')
      : `HTTP ${status} ${typeof word === 'string' && /^[A-Za-z]+$/.test(word) ? word : 'Error'}`;
  const message = `cannot ${what}: ${detail}`;
  return status === 400 || status === 422 ? new StalledError(reason, message, { cause: err }) : new TransientError(reason, message, { cause: err });
}
