/**
 * Self-contained kubeconfig files for the test control plane: the CA and the client credentials are
 * embedded (base64 `*-data` fields), so a kubeconfig works on its own, copied anywhere.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import yaml from 'js-yaml';

/** How the user authenticates: a client certificate or a bearer token. */
export type Credentials = { certPem: string; keyPem: string } | { token: string };

/** One cluster, one user, one context (the current one). */
export interface KubeconfigSpec {
  server: string;
  caPem: string;
  /** The kubeconfig's user entry name (the context is `<user>@<cluster>`). */
  user: string;
  credentials: Credentials;
  cluster?: string;
  namespace?: string;
}

/** The kubeconfig YAML text for `spec`. */
export function kubeconfigYaml(spec: KubeconfigSpec): string {
  const cluster = spec.cluster ?? 'sigil-test';
  const context = `${spec.user}@${cluster}`;
  const user =
    'token' in spec.credentials
      ? { token: spec.credentials.token }
      : { 'client-certificate-data': base64(spec.credentials.certPem), 'client-key-data': base64(spec.credentials.keyPem) };
  return yaml.dump(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: cluster, cluster: { server: spec.server, 'certificate-authority-data': base64(spec.caPem) } }],
      users: [{ name: spec.user, user }],
      contexts: [{ name: context, context: { cluster, user: spec.user, ...(spec.namespace ? { namespace: spec.namespace } : {}) } }],
      'current-context': context,
      preferences: {},
    },
    { lineWidth: -1 },
  );
}

/** Writes kubeconfig text to `path`, readable by its owner only (it holds credentials). */
export function writeKubeconfig(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600); // the mode above only applies when the file is created
}

function base64(pem: string): string {
  return Buffer.from(pem, 'utf8').toString('base64');
}
