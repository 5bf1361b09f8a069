/**
 * Where `seal` gets the sealing certificate: a PEM file, an http(s) URL (the controller's `/v1/cert.pem`),
 * or, when neither is given, the ConfigMap the controller publishes, through the user's kubeconfig.
 */
import { assertCertificateValid, parseCertificate, type SealingCert } from '../../shared/crypto/certificate.js';
import { StalledError, TransientError } from '../../shared/errors.js';
import { readTextFile } from './io.js';

const FETCH_TIMEOUT_MS = 10_000;

/** Where the certificate comes from: `--cert`/`SEAL_CERT`, else the controller's namespace in the cluster. */
export interface CertSource {
  cert: string | undefined;
  /** `--controller-namespace` / `SEAL_CONTROLLER_NAMESPACE`. */
  controllerNamespace: string;
  now: Date;
}

/**
 * Loads and checks the sealing certificate. Throws UsageError when there is no source at all, StalledError
 * when it is unreadable, not a certificate or expired at `now`, TransientError when it cannot be fetched.
 */
export async function loadSealingCert(source: CertSource): Promise<SealingCert> {
  const { pem, name } = await certPem(source);
  let cert: SealingCert;
  try {
    cert = parseCertificate(pem);
    assertCertificateValid(cert, source.now);
  } catch (err) {
    throw new StalledError('InvalidCertificate', `certificate ${name}: ${(err as Error).message}`);
  }
  return cert;
}

/** The PEM text and a printable name of where it came from, not yet checked. */
export async function certPem(source: Pick<CertSource, 'cert' | 'controllerNamespace'>): Promise<{ pem: string; name: string }> {
  if (!source.cert) return (await import('./cluster-cert.js')).clusterCertPem(source.controllerNamespace);
  const isUrl = /^https?:\/\//i.test(source.cert);
  const name = isUrl ? scrubUrl(source.cert) : source.cert;
  return { pem: isUrl ? await fetchText(source.cert, name) : await readTextFile(source.cert, 'certificate'), name };
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
