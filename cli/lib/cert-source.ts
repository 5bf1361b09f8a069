/**
 * Where `seal` gets the sealing certificate: a PEM file or an http(s) URL (the controller's `/v1/cert.pem`).
 */
import { assertCertificateValid, parseCertificate, type SealingCert } from '../../shared/crypto/certificate.js';
import { StalledError, TransientError, UsageError } from '../../shared/errors.js';
import { readTextFile } from './io.js';

const FETCH_TIMEOUT_MS = 10_000;

/**
 * Loads and checks the sealing certificate named by `source` (`--cert` or `SEAL_CERT`).
 * Throws UsageError when none is given, StalledError when it is unreadable, not a certificate or expired at
 * `now`, TransientError when a URL cannot be fetched.
 */
export async function loadSealingCert(source: string | undefined, now: Date): Promise<SealingCert> {
  if (!source) throw new UsageError('no sealing certificate: give --cert FILE|URL or set SEAL_CERT');
  const isUrl = /^https?:\/\//i.test(source);
  const name = isUrl ? scrubUrl(source) : source;
  const pem = isUrl ? await fetchText(source, name) : await readTextFile(source, 'certificate');
  let cert: SealingCert;
  try {
    cert = parseCertificate(pem);
    assertCertificateValid(cert, now);
  } catch (err) {
    throw new StalledError('InvalidCertificate', `certificate ${name}: ${(err as Error).message}`);
  }
  return cert;
}

async function fetchText(url: string, name: string): Promise<string> {
  const target = new URL(url);
  const headers: Record<string, string> = {};
  if (target.username || target.password) {
    const user = decodeURIComponent(target.username);
    const password = decodeURIComponent(target.password);
    headers['authorization'] = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    target.username = '';
    target.password = '';
  }
  let response: Response;
  try {
    response = await fetch(target, { headers, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: 'follow' });
  } catch (err) {
    // Only the error code or name: a message may quote the URL.
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    throw new TransientError('CertificateUnavailable', `cannot fetch certificate ${name}: ${cause}`);
  }
  if (!response.ok) {
    throw new TransientError('CertificateUnavailable', `cannot fetch certificate ${name}: HTTP ${response.status}`);
  }
  return response.text();
}

/** A URL without user name, password, query or fragment, safe to print. */
export function scrubUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '<invalid URL>';
  }
}
