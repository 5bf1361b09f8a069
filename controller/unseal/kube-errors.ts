/**
 * Turning client-node errors into the project's typed errors, with messages that hold the status code and
 * the API server's reason word only: never a request or response body, which could carry secret data.
 */
import { SigilError, StalledError, TransientError } from '../../shared/errors.js';

/** The HTTP status of a client-node ApiException, or undefined for other errors (network, …). */
export function statusCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

/** The API server's one-word reason (`Conflict`, `Forbidden`, …) from an ApiException body. */
function apiReason(err: unknown): string {
  let body = (err as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      body = undefined;
    }
  }
  const reason = (body as { reason?: unknown } | undefined)?.reason;
  return typeof reason === 'string' && /^[A-Za-z]+$/.test(reason) ? reason : 'Error';
}

/**
 * A typed error for a failed API call `what` (e.g. `create Secret prod/db`): 422 and 400 are permanent
 * (StalledError), everything else (conflicts, throttling, 403 while RBAC propagates, network) is retried.
 */
export function kubeError(reason: string, what: string, err: unknown): SigilError {
  if (err instanceof SigilError) return err;
  const code = statusCode(err);
  const detail = code === undefined ? `${(err as { code?: string }).code ?? 'network error'}` : `HTTP ${code} ${apiReason(err)}`;
  const message = `cannot ${what}: ${detail}`;
  return code === 400 || code === 422 ? new StalledError(reason, message) : new TransientError(reason, message);
}
