/**
 * The certificates and keys of a test control plane, made with the `openssl` CLI (EC P-256: a whole set
 * takes a few tens of milliseconds, where RSA would take seconds). One CA signs the apiserver's serving
 * certificate and every client certificate, so it is both the cluster CA and the client CA. Kubernetes
 * reads a client certificate's CN as the user name and each O as a group.
 *
 * Layout under `dir`: ca.{crt,key}, apiserver.{crt,key}, service-account.{key,pub}, and one
 * `client-<n>-<user>.{crt,key}` pair per client certificate issued.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A certificate and its private key, as files and as PEM text. */
export interface KeyPair {
  certFile: string;
  keyFile: string;
  certPem: string;
  keyPem: string;
}

/** The control plane's PKI. */
export interface Pki {
  dir: string;
  ca: KeyPair;
  apiserver: KeyPair;
  /** Signs and verifies ServiceAccount tokens (EC P-256, ES256). */
  serviceAccount: { privateKeyFile: string; publicKeyFile: string };
  /** Issues a client certificate: CN=`user`, one O per group, signed by the CA. Throws with openssl's reason. */
  issueClient(user: string, groups?: readonly string[]): Promise<KeyPair>;
}

// Extension sections only: the subject comes from -subj, SANs from -addext. Leaf certificates get CA:FALSE
// explicitly, since `req -x509` would otherwise apply the default config's CA extensions.
const CONFIG = `[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,digitalSignature,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
`;

const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/**
 * Creates the PKI in `dir` (made if missing; existing files are replaced). `serverIps` and `serverNames`
 * are the apiserver certificate's SANs. Throws with openssl's output when a step fails.
 */
export async function createPki(dir: string, options: { serverIps: readonly string[]; serverNames: readonly string[] }): Promise<Pki> {
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'openssl.cnf');
  writeFileSync(config, CONFIG);
  const ca = await certificate(dir, 'ca', config, ['-extensions', 'ca', '-subj', '/CN=sigil-test-ca', '-days', '3650']);
  const signedByCa = ['-CA', ca.certFile, '-CAkey', ca.keyFile, '-days', '365'];
  const sans = [...options.serverIps.map((ip) => `IP:${ip}`), ...options.serverNames.map((n) => `DNS:${n}`)].join(',');
  const saKey = join(dir, 'service-account.key');
  const saPub = join(dir, 'service-account.pub');
  const [apiserver] = await Promise.all([
    certificate(dir, 'apiserver', config, ['-extensions', 'server', '-addext', `subjectAltName=${sans}`, '-subj', '/CN=kube-apiserver', ...signedByCa]),
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', saKey]).then(() =>
      openssl(['pkey', '-in', saKey, '-pubout', '-out', saPub]),
    ),
  ]);
  let issued = 0;
  return {
    dir,
    ca,
    apiserver,
    serviceAccount: { privateKeyFile: saKey, publicKeyFile: saPub },
    issueClient(user, groups = []) {
      const subject = [`/CN=${escapeRdn(user)}`, ...groups.map((g) => `/O=${escapeRdn(g)}`)].join('');
      return certificate(dir, `client-${++issued}-${user.replace(/[^\w.-]+/g, '_')}`, config, ['-extensions', 'client', '-subj', subject, ...signedByCa]);
    },
  };
}

async function certificate(dir: string, name: string, config: string, args: readonly string[]): Promise<KeyPair> {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  await openssl(['req', '-x509', '-config', config, ...NEW_KEY, '-keyout', keyFile, '-out', certFile, ...args]);
  return { certFile, keyFile, certPem: readFileSync(certFile, 'utf8'), keyPem: readFileSync(keyFile, 'utf8') };
}

async function openssl(args: readonly string[]): Promise<void> {
  try {
    await run('openssl', args, { encoding: 'utf8' });
  } catch (err) {
    const { stderr, message } = err as { stderr?: string; message: string };
    throw new Error(`openssl ${args[0]} failed: ${(stderr || message).trim()}`);
  }
}

/** -subj separates RDNs with `/` and reads `\` as an escape. */
function escapeRdn(value: string): string {
  return value.replace(/[\\/+=,]/g, (c) => `\\${c}`);
}
