/**
 * The Vault transit adapter `seal` and the controller share: batch encrypt, decrypt and rewrap with a derived
 * key, key settings, and one login per client.
 *
 * Wire format (Vault's HTTP API, `/v1/<mount>/{encrypt,decrypt,rewrap}/<key>`): one `batch_input` per call,
 * each item `{plaintext|ciphertext, context}` with plaintext and context in standard base64; the context is
 * `vaultContext()`, so a value opens only as the key of the SealedSecret it was sealed for. Ciphertexts are
 * Vault's own `vault:v<N>:<base64>`.
 *
 * Batch errors: encrypt and decrypt send `partial_failure_response_code: 400` (Vault's default, sent so the
 * choice is on the wire): a batch with any failed item answers 400, never a 2xx such as 207, so a failed
 * decrypt (which may be an attack) shows as an error in Vault's audit log, its metrics and any proxy. Every
 * item is checked whatever the status (rewrap answers 200 even when an item failed), the first failed one
 * throws `BatchItemError` naming its index, and partial results are never returned.
 *
 * Sessions: token auth uses the token as given (its owner manages its lifetime: no renewal, no re-login).
 * AppRole and Kubernetes logins are lazy and shared (concurrent callers wait for one login); at 2/3 of the
 * lease the next call renews the token (`auth/token/renew-self`, when renewable) or logs in anew when renewal
 * fails, gives back under a third of the first lease (max TTL reached) or the token has expired. A 403
 * (or 401) drops the session, logs in once more and retries that request once. No timers: a client holds no
 * handle but idle keep-alive sockets (unref'd; `close()` drops them).
 *
 * Why node:http/https and not node-vault: node-vault's transit calls hard-code the mount `transit`; it
 * silently falls back to VAULT_TOKEN, VAULT_NAMESPACE and VAULT_SKIP_VERIFY from the environment (a library
 * must not turn TLS verification off behind its caller's back); with DEBUG=node-vault it logs request bodies,
 * which hold plaintext; it turns a non-2xx answer into an error keeping only the first error string; and its
 * axios errors carry the request headers, X-Vault-Token included, into anything that logs `cause`. What this
 * adapter needs (a CA per client, the namespace header, a deadline per request) is a few lines over
 * node:https; fetch cannot take an https.Agent on Node 20.
 *
 * Errors name the address (without userinfo), method and path (mount and key), the HTTP status and Vault's
 * error text; never a token, plaintext or ciphertext.
 */
import http from 'node:http';
import https from 'node:https';
import { scopeLabel, type Scope } from '../crypto/scope.js';
import { errorMessage, StalledError, TransientError, type SigilError } from '../errors.js';

/** How the client gets its Vault token. */
export type VaultAuth =
  | { method: 'token'; token: string }
  | { method: 'approle'; roleId: string; secretId: string; mount?: string /* default 'approle' */ }
  | { method: 'kubernetes'; role: string; jwt: () => string /* read at each login: projected tokens rotate */; mount?: string /* default 'kubernetes' */ };

/** Where Vault is and how to reach it. */
export interface VaultOptions {
  addr: string;
  auth: VaultAuth;
  /** Sent as X-Vault-Namespace (Vault Enterprise, OpenBao). */
  namespace?: string;
  /** PEM CA certificate(s) to verify an https Vault with, instead of the system roots. */
  caCert?: string;
  skipVerify?: boolean;
  /** Deadline of each HTTP request; default 10000. */
  timeoutMs?: number;
  /** Clock for token leases, in ms; default Date.now. */
  now?: () => number;
}

/** A transit key's settings, as `readKey` reports them. */
export interface TransitKeyInfo {
  derived: boolean;
  type: string;
  latestVersion: number;
  minDecryptionVersion: number;
}

/**
 * One item of a batch that Vault refused: `index` into the batch, Vault's text for it in `detail`, the
 * request in `at`. Message: `value <index>: <detail> (<at>)`. Callers map the index to a key name.
 */
export class BatchItemError extends StalledError {
  readonly index: number;
  readonly detail: string;
  readonly at: string;

  constructor(reason: string, index: number, detail: string, at: string) {
    super(reason, `value ${index}: ${detail} (${at})`);
    this.index = index;
    this.detail = detail;
    this.at = at;
  }
}

/**
 * The context bound into every value: UTF-8 of `${scope}:${label}/${key}`, label = `ns/name` (strict), `ns`
 * (namespace-wide), `` (cluster-wide): e.g. strict:prod/db/password, namespace-wide:prod/password,
 * cluster-wide:/password. Callers pass it as text; the adapter sends it base64.
 */
export function vaultContext(scope: Scope, namespace: string, name: string, key: string): string {
  return `${scope}:${scopeLabel(scope, namespace, name).toString('utf8')}/${key}`;
}

interface Session {
  token: string;
  renewable: boolean;
  /** The lease of the login that made the token, in ms (0: none). */
  firstLeaseMs: number;
  renewAt: number;
  expiresAt: number;
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

type BatchItem = Record<string, unknown>;

/** A Vault transit client: one per process and Vault, shared by every caller so they share one login. */
export class VaultTransit {
  readonly #options: VaultOptions;
  readonly #base: URL;
  /** The address for messages: no userinfo, no trailing slash. */
  readonly #shown: string;
  readonly #agent: http.Agent;
  readonly #now: () => number;
  #session: Session | undefined;
  #pending: Promise<Session> | undefined;
  #logins = 0;
  #requests = 0;

  /** Checks the address only; nothing is sent until the first call. Throws StalledError('VaultConfig') for a non-http(s) address. */
  constructor(options: VaultOptions) {
    let base: URL;
    try {
      base = new URL(options.addr);
    } catch {
      throw new StalledError('VaultConfig', 'the Vault address is not a URL');
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new StalledError('VaultConfig', 'the Vault address is not an http(s) URL');
    if (!base.pathname.endsWith('/')) base.pathname += '/';
    this.#options = options;
    this.#base = base;
    this.#shown = `${base.protocol}//${base.host}${base.pathname.replace(/\/+$/, '')}`;
    this.#agent =
      base.protocol === 'https:'
        ? new https.Agent({ keepAlive: true, ...(options.caCert ? { ca: options.caCert } : {}), rejectUnauthorized: !options.skipVerify })
        : new http.Agent({ keepAlive: true });
    this.#now = options.now ?? Date.now;
  }

  /**
   * One batch request; returns `vault:vN:…` ciphertexts in order.
   * @throws BatchItemError('EncryptFailed'), TransientError('VaultUnavailable' | 'VaultDenied'), StalledError('VaultRequestFailed').
   */
  async encrypt(mount: string, key: string, items: ReadonlyArray<{ plaintext: Buffer; context: string }>): Promise<string[]> {
    const input = items.map((item) => ({ plaintext: item.plaintext.toString('base64'), context: base64(item.context) }));
    const results = await this.#batch('encrypt', 'EncryptFailed', mount, key, input);
    return results.map((result, index) => this.#ciphertext(result, index, 'encrypt', mount, key));
  }

  /**
   * One batch request; returns the plaintexts in order.
   * @throws BatchItemError('DecryptFailed') naming the first failing index only (callers map it to a key name),
   *   TransientError('VaultUnavailable' | 'VaultDenied'), StalledError('VaultRequestFailed').
   */
  async decrypt(mount: string, key: string, items: ReadonlyArray<{ ciphertext: string; context: string }>): Promise<Buffer[]> {
    const input = items.map((item) => ({ ciphertext: item.ciphertext, context: base64(item.context) }));
    const results = await this.#batch('decrypt', 'DecryptFailed', mount, key, input);
    return results.map((result, index) => {
      const plaintext = result.plaintext ?? '';
      if (typeof plaintext !== 'string') throw this.#unexpected('POST', path(mount, 'decrypt', key), `no plaintext for value ${index}`);
      return Buffer.from(plaintext, 'base64');
    });
  }

  /**
   * One batch request to /rewrap: each value re-encrypted to the key's newest version; plaintext never leaves Vault.
   * @throws BatchItemError('RewrapFailed'), TransientError('VaultUnavailable' | 'VaultDenied'), StalledError('VaultRequestFailed').
   */
  async rewrap(mount: string, key: string, items: ReadonlyArray<{ ciphertext: string; context: string }>): Promise<string[]> {
    const input = items.map((item) => ({ ciphertext: item.ciphertext, context: base64(item.context) }));
    const results = await this.#batch('rewrap', 'RewrapFailed', mount, key, input);
    return results.map((result, index) => this.#ciphertext(result, index, 'rewrap', mount, key));
  }

  /**
   * The key's settings (`GET <mount>/keys/<key>`).
   * @throws StalledError('VaultKeyNotFound') when there is no such key, and as `encrypt` otherwise.
   */
  async readKey(mount: string, key: string): Promise<TransitKeyInfo> {
    const keyPath = path(mount, 'keys', key);
    const answer = await this.#call('GET', keyPath);
    if (answer.status === 404 && vaultErrors(answer.body) === '') {
      throw new StalledError('VaultKeyNotFound', `${this.#at('GET', keyPath)}: HTTP 404: no such transit key`);
    }
    if (!ok(answer)) throw this.#failure('GET', keyPath, answer);
    return this.#keyInfo('GET', keyPath, answer.body.data);
  }

  /**
   * Creates a derived aes256-gcm96 key (`POST <mount>/keys/<key>`); an existing derived key is left as it is.
   * @throws StalledError('VaultKeyExists') when the name is taken by a key without derivation (Vault keeps
   *   it as it is, and derivation is fixed at creation), and as `encrypt` otherwise.
   */
  async createKey(mount: string, key: string): Promise<void> {
    const keyPath = path(mount, 'keys', key);
    const answer = await this.#call('POST', keyPath, { type: 'aes256-gcm96', derived: true });
    if (!ok(answer)) throw this.#failure('POST', keyPath, answer);
    // Vault answers 200 with the key's settings (older versions 204, no body) even when the key already existed.
    const info = answer.body.data === undefined || answer.body.data === null ? await this.readKey(mount, key) : this.#keyInfo('POST', keyPath, answer.body.data);
    if (!info.derived) {
      throw new StalledError(
        'VaultKeyExists',
        `${this.#at('POST', keyPath)}: transit key ${key} already exists without key derivation (type ${info.type}); derivation is fixed when a key is created, so choose another name`,
      );
    }
  }

  /** Requests sent (logins and renewals included) and logins made so far. */
  stats(): { logins: number; requests: number } {
    return { logins: this.#logins, requests: this.#requests };
  }

  /** Drops idle keep-alive connections; later calls open new ones. */
  close(): void {
    this.#agent.destroy();
  }

  /** POSTs one batch and returns its items, each checked; see the module comment for the status codes. */
  async #batch(op: 'encrypt' | 'decrypt' | 'rewrap', reason: string, mount: string, key: string, input: BatchItem[]): Promise<BatchItem[]> {
    if (input.length === 0) return [];
    const batchPath = path(mount, op, key);
    const body = op === 'rewrap' ? { batch_input: input } : { batch_input: input, partial_failure_response_code: 400 };
    const answer = await this.#call('POST', batchPath, body);
    const data = answer.body.data;
    const results = isRecord(data) ? data.batch_results : undefined;
    if (answer.status >= 500 || !Array.isArray(results)) {
      throw ok(answer) ? this.#unexpected('POST', batchPath, 'no batch_results') : this.#failure('POST', batchPath, answer);
    }
    if (results.length !== input.length) throw this.#unexpected('POST', batchPath, `${results.length} results for ${input.length} values`);
    for (const [index, result] of (results as unknown[]).entries()) {
      const error = isRecord(result) ? result.error : 'not an object';
      if (typeof error === 'string' && error !== '') {
        throw new BatchItemError(reason, index, cleanError(error), `${this.#at('POST', batchPath)}, HTTP ${answer.status}`);
      }
    }
    if (!ok(answer)) throw this.#failure('POST', batchPath, answer);
    return results as BatchItem[];
  }

  /** An authenticated request; with a login-based auth, a 401/403 logs in anew and retries once. */
  async #call(method: string, requestPath: string, body?: unknown): Promise<Answer> {
    const token = await this.#token();
    const answer = await this.#send(method, requestPath, body, token);
    if ((answer.status !== 401 && answer.status !== 403) || this.#options.auth.method === 'token') return answer;
    if (this.#session?.token === token) this.#session = undefined;
    return this.#send(method, requestPath, body, await this.#token());
  }

  /** The token to send: the given one, or the session's, logging in or renewing first when due. */
  async #token(): Promise<string> {
    const auth = this.#options.auth;
    if (auth.method === 'token') return auth.token;
    const session = this.#session;
    if (session !== undefined && this.#now() < session.renewAt) return session.token;
    this.#pending ??= this.#refresh(session).finally(() => {
      this.#pending = undefined;
    });
    return (await this.#pending).token;
  }

  async #refresh(old: Session | undefined): Promise<Session> {
    let next: Session | undefined;
    if (old !== undefined && old.renewable && this.#now() < old.expiresAt) next = await this.#renew(old).catch(() => undefined);
    next ??= await this.#login();
    this.#session = next;
    return next;
  }

  async #renew(old: Session): Promise<Session | undefined> {
    const answer = await this.#send('POST', 'auth/token/renew-self', {}, old.token);
    const session = ok(answer) ? this.#sessionOf(answer.body.auth, old.firstLeaseMs) : undefined;
    if (session === undefined || session.token !== old.token) return undefined;
    // Capped by the token's max TTL: renewing again would only shrink it further.
    if (old.firstLeaseMs > 0 && (session.expiresAt - this.#now()) * 3 < old.firstLeaseMs) return undefined;
    return session;
  }

  async #login(): Promise<Session> {
    const auth = this.#options.auth;
    if (auth.method === 'token') throw new Error('token auth has no login');
    const mount = trimSlashes(auth.mount ?? (auth.method === 'approle' ? 'approle' : 'kubernetes'));
    const loginPath = `auth/${mount}/login`;
    let body: Record<string, string>;
    if (auth.method === 'approle') {
      body = { role_id: auth.roleId, secret_id: auth.secretId };
    } else {
      let jwt: string;
      try {
        jwt = auth.jwt().trim();
      } catch (err) {
        throw new TransientError('VaultDenied', `${this.#at('POST', loginPath)}: cannot read the ServiceAccount token to log in with: ${errorMessage(err)}`);
      }
      body = { role: auth.role, jwt };
    }
    this.#logins += 1;
    const answer = await this.#send('POST', loginPath, body, undefined);
    const shown = auth.method === 'kubernetes' ? `${loginPath} (role ${auth.role})` : loginPath;
    if (!ok(answer)) throw this.#failure('POST', shown, answer, true);
    const session = this.#sessionOf(answer.body.auth, undefined);
    if (session === undefined) throw this.#unexpected('POST', shown, 'no client_token');
    return session;
  }

  #sessionOf(auth: unknown, firstLeaseMs: number | undefined): Session | undefined {
    if (!isRecord(auth) || typeof auth.client_token !== 'string' || auth.client_token === '') return undefined;
    const leaseMs = typeof auth.lease_duration === 'number' && auth.lease_duration > 0 ? auth.lease_duration * 1000 : 0;
    const now = this.#now();
    return {
      token: auth.client_token,
      renewable: auth.renewable === true,
      firstLeaseMs: firstLeaseMs ?? leaseMs,
      renewAt: leaseMs === 0 ? Infinity : now + (leaseMs * 2) / 3,
      expiresAt: leaseMs === 0 ? Infinity : now + leaseMs,
    };
  }

  /** One HTTP request with a deadline; any answer resolves, a network failure or timeout throws VaultUnavailable. */
  #send(method: string, requestPath: string, body: unknown, token: string | undefined): Promise<Answer> {
    this.#requests += 1;
    const url = new URL(`v1/${requestPath}`, this.#base);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { accept: 'application/json', 'x-vault-request': 'true' };
    if (payload !== undefined) headers['content-type'] = 'application/json';
    if (token !== undefined) headers['x-vault-token'] = token;
    if (this.#options.namespace) headers['x-vault-namespace'] = this.#options.namespace;
    const timeoutMs = this.#options.timeoutMs ?? 10_000;
    const client = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      let timedOut = false;
      const fail = (err: unknown): void => {
        clearTimeout(timer);
        const why = timedOut ? `no answer within ${timeoutMs} ms` : `cannot reach Vault: ${errorMessage(err)}`;
        reject(new TransientError('VaultUnavailable', `${this.#at(method, requestPath)}: ${why}`));
      };
      const request = client.request(url, { method, headers, agent: this.#agent }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', fail);
        response.on('end', () => {
          clearTimeout(timer);
          resolve({ status: response.statusCode ?? 0, body: parseBody(Buffer.concat(chunks).toString('utf8')) });
        });
      });
      const timer = setTimeout(() => {
        timedOut = true;
        request.destroy();
      }, timeoutMs);
      request.on('error', fail);
      request.end(payload);
    });
  }

  #ciphertext(result: BatchItem, index: number, op: string, mount: string, key: string): string {
    const ciphertext = result.ciphertext;
    if (typeof ciphertext !== 'string' || !ciphertext.startsWith('vault:')) {
      throw this.#unexpected('POST', path(mount, op, key), `no vault:vN: ciphertext for value ${index}`);
    }
    return ciphertext;
  }

  #keyInfo(method: string, keyPath: string, data: unknown): TransitKeyInfo {
    if (!isRecord(data) || typeof data.derived !== 'boolean' || typeof data.type !== 'string' || typeof data.latest_version !== 'number') {
      throw this.#unexpected(method, keyPath, 'no key settings');
    }
    const minDecryptionVersion = typeof data.min_decryption_version === 'number' ? data.min_decryption_version : 1;
    return { derived: data.derived, type: data.type, latestVersion: data.latest_version, minDecryptionVersion };
  }

  /** The error for a non-2xx answer, typed by what the caller should do. A refused login is always VaultDenied. */
  #failure(method: string, requestPath: string, answer: Answer, login = false): SigilError {
    const errors = vaultErrors(answer.body);
    const message = `${this.#at(method, requestPath)}: HTTP ${answer.status}${errors === '' ? '' : `: ${errors}`}`;
    const status = answer.status;
    if (status === 401 || status === 403 || (login && status >= 400 && status < 500)) return new TransientError('VaultDenied', message);
    if (status >= 500 || status === 429 || status === 412 || (status >= 300 && status < 400)) return new TransientError('VaultUnavailable', message);
    return new StalledError('VaultRequestFailed', message);
  }

  #unexpected(method: string, requestPath: string, what: string): TransientError {
    return new TransientError('VaultUnavailable', `${this.#at(method, requestPath)}: unexpected answer: ${what}`);
  }

  #at(method: string, requestPath: string): string {
    return `Vault ${this.#shown} ${method} ${requestPath}`;
  }
}

function path(mount: string, op: string, key: string): string {
  return `${trimSlashes(mount)}/${op}/${encodeURIComponent(key)}`;
}

function trimSlashes(mount: string): string {
  return mount.replace(/^\/+|\/+$/g, '');
}

function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

function ok(answer: Answer): boolean {
  return answer.status >= 200 && answer.status < 300;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Vault's JSON body; anything else (a proxy's page) as its first 200 characters under `errors`. */
function parseBody(text: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(text);
    if (isRecord(value)) return value;
  } catch {
    // not JSON
  }
  return { errors: [text.slice(0, 200)] };
}

/** Vault's `errors`, one line: "1 error occurred:\n\t* permission denied\n\n" reads "permission denied". */
function vaultErrors(body: Record<string, unknown>): string {
  const errors = Array.isArray(body.errors) ? body.errors.filter((e): e is string => typeof e === 'string') : [];
  return errors.map(cleanError).filter((e) => e !== '').join('; ');
}

function cleanError(text: string): string {
  return text
    .split('\n')
    .map((line) => line.trim().replace(/^\*\s*/, ''))
    .filter((line) => line !== '' && !/^\d+ errors? occurred:$/.test(line))
    .join('; ');
}
