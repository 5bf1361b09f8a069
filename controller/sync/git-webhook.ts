/**
 * The `POST /hooks/git` endpoint: a push on GitHub, GitLab or Gitea (Forgejo too) makes the engine look at
 * Git now instead of at the next interval. Every request is authenticated with the shared secret before its
 * body is read: an HMAC-SHA256 of the raw body (GitHub, Gitea) or the token itself (GitLab), compared in
 * constant time. Answers never echo the secret, the signature or the payload.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, readBody, sendText, type RouteHandler } from '../runtime/http-server.js';
import type { Logger } from '../runtime/logger.js';

/** A push event from a Git host, reduced to what the engine needs. */
export interface PushEvent {
  provider: 'github' | 'gitlab' | 'gitea';
  /** Every clone, SSH and web URL of the repository named in the payload, without repeats. */
  repoUrls: string[];
  /** The pushed ref, e.g. `refs/heads/main` or `refs/tags/v1.2.0`. */
  ref?: string;
}

type Provider = PushEvent['provider'];

/** Events that mean "new commits": GitHub and Gitea send tag pushes as `push` too. */
const PUSH_EVENTS: Record<Provider, readonly string[]> = {
  github: ['push'],
  gitea: ['push'],
  gitlab: ['Push Hook', 'Tag Push Hook'],
};

/** Where each host puts the repository's URLs in a push payload. */
const URL_FIELDS: Record<Provider, ReadonlyArray<readonly [string, readonly string[]]>> = {
  github: [['repository', ['clone_url', 'ssh_url', 'git_url', 'html_url']]],
  gitea: [['repository', ['clone_url', 'ssh_url', 'html_url']]],
  gitlab: [
    ['project', ['git_http_url', 'git_ssh_url', 'web_url']],
    ['repository', ['git_http_url', 'git_ssh_url', 'homepage']],
  ],
};

/**
 * Verifies and parses a webhook request. Returns null for an authentic event that is not a push (GitHub's
 * `ping`, a merge request, …): the caller acknowledges it and does nothing. A form-encoded body
 * (`payload=<json>`, GitHub's default content type) is read like a JSON one; the signature covers the raw
 * bytes either way. Throws HttpError 400 `unknown webhook: …` when no GitHub, GitLab, Gitea or Forgejo event
 * header is present; 401 `webhook secret not configured` when `secret` is empty; 401 `missing signature` /
 * `signature mismatch` for an absent or wrong signature (GitLab: token); 400 `body is not JSON` /
 * `body is not a push event` for a push whose body is not a JSON object.
 */
export function parsePushEvent(headers: IncomingHttpHeaders, rawBody: Buffer, secret: string | undefined): PushEvent | null {
  const { provider, event } = deliveryOf(headers);
  if (!secret) throw new HttpError(401, 'webhook secret not configured');
  const given = signatureOf(headers, provider);
  if (given === undefined) throw new HttpError(401, 'missing signature');
  if (!sameText(given, expectedSignature(provider, rawBody, secret))) throw new HttpError(401, 'signature mismatch');
  if (!PUSH_EVENTS[provider].includes(event)) return null;

  const payload = parsePayload(headers, rawBody);
  const repoUrls = new Set<string>();
  for (const [parent, fields] of URL_FIELDS[provider]) {
    const holder = record(payload[parent]);
    for (const field of fields) {
      const url = holder?.[field];
      if (typeof url === 'string' && url !== '') repoUrls.add(url);
    }
  }
  return { provider, repoUrls: [...repoUrls], ...(typeof payload.ref === 'string' ? { ref: payload.ref } : {}) };
}

/**
 * The `POST /hooks/git` route for startHttpServer. Reads the raw body within the server's limit (413 past
 * it), asks `secret()` for the current secret on every request (so a rotated Secret applies at once), then
 * answers 200 `{"refreshed": n}` with what `onPush` returned, or 202 `{"ignored": "<event>"}` for an
 * authentic event that is not a push. Refusals are parsePushEvent's HttpErrors, logged at warn without the
 * signature; what `onPush` throws becomes the server's 500.
 */
export function gitHookRoute(options: { secret: () => Promise<string | undefined> | string | undefined; onPush: (event: PushEvent) => number; log: Logger }): Record<string, RouteHandler> {
  const { log } = options;
  return {
    'POST /hooks/git': async (req: IncomingMessage, res: ServerResponse) => {
      const body = await readBody(req);
      let event: PushEvent | null;
      try {
        event = parsePushEvent(req.headers, body, await options.secret());
      } catch (err) {
        if (err instanceof HttpError) log.warn('git webhook refused', { status: err.status, reason: err.message, remote: req.socket.remoteAddress });
        throw err;
      }
      if (!event) {
        const ignored = deliveryOf(req.headers).event;
        log.debug('git webhook ignored', { event: ignored });
        return sendJson(res, 202, { ignored });
      }
      const refreshed = options.onPush(event);
      log.info('git push received', { provider: event.provider, ref: event.ref, repos: event.repoUrls, refreshed });
      sendJson(res, 200, { refreshed });
    },
  };
}

/**
 * Which host sent the request and which event it is. Gitea and Forgejo also send GitHub's event header, so
 * theirs are looked for first.
 */
function deliveryOf(headers: IncomingHttpHeaders): { provider: Provider; event: string } {
  const gitea = header(headers, 'x-forgejo-event') ?? header(headers, 'x-gitea-event');
  if (gitea !== undefined) return { provider: 'gitea', event: gitea };
  const gitlab = header(headers, 'x-gitlab-event');
  if (gitlab !== undefined) return { provider: 'gitlab', event: gitlab };
  const github = header(headers, 'x-github-event');
  if (github !== undefined) return { provider: 'github', event: github };
  throw new HttpError(400, 'unknown webhook: expected a GitHub, GitLab or Gitea push event');
}

function signatureOf(headers: IncomingHttpHeaders, provider: Provider): string | undefined {
  switch (provider) {
    case 'github':
      return header(headers, 'x-hub-signature-256');
    case 'gitea':
      return header(headers, 'x-forgejo-signature') ?? header(headers, 'x-gitea-signature');
    case 'gitlab':
      return header(headers, 'x-gitlab-token');
  }
}

function expectedSignature(provider: Provider, rawBody: Buffer, secret: string): string {
  if (provider === 'gitlab') return secret;
  const hex = createHmac('sha256', secret).update(rawBody).digest('hex');
  return provider === 'github' ? `sha256=${hex}` : hex;
}

/**
 * Constant-time equality. Both sides are hashed first, so the buffers compared are always 32 bytes and not
 * even the length of the expected value (a GitLab token) shows in the timing.
 */
function sameText(given: string, expected: string): boolean {
  const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

function parsePayload(headers: IncomingHttpHeaders, rawBody: Buffer): Record<string, unknown> {
  let text = rawBody.toString('utf8');
  if ((header(headers, 'content-type') ?? '').startsWith('application/x-www-form-urlencoded')) {
    text = new URLSearchParams(text).get('payload') ?? '';
  }
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'body is not JSON');
  }
  const object = record(payload);
  if (!object) throw new HttpError(400, 'body is not a push event');
  return object;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  sendText(res, status, JSON.stringify(body), 'application/json');
}
