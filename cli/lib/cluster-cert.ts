/**
 * The sealing certificate as the controller publishes it: ConfigMap `sigil-sealing-cert` (key `cert.pem`)
 * in the controller's namespace, read with the user's kubeconfig. No service proxy is involved, so it works
 * on private clusters where only the API server is reachable. The Kubernetes client is loaded only here.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { StalledError, TransientError, UsageError } from '../../shared/errors.js';
import { CERT_CONFIGMAP, CERT_CONFIGMAP_KEY } from '../../shared/names.js';


/**
 * Reads the certificate PEM from the cluster of the current kubeconfig context.
 * Throws UsageError when there is no kubeconfig, StalledError when the ConfigMap or its key is missing or
 * reading it is forbidden, TransientError when the API server cannot be reached.
 */
export async function clusterCertPem(namespace: string): Promise<{ pem: string; name: string }> {
  const kubeconfig = process.env.KUBECONFIG || join(homedir(), '.kube/config');
  const inCluster = !!process.env.KUBERNETES_SERVICE_HOST;
  if (!inCluster && !process.env.KUBECONFIG?.split(':').some((f) => existsSync(f)) && !existsSync(kubeconfig)) {
    throw new UsageError('no sealing certificate: give --cert FILE|URL, set SEAL_CERT, or set KUBECONFIG to a cluster running sigil-controller');
  }
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  kc.loadFromDefault();
  const name = `ConfigMap ${namespace}/${CERT_CONFIGMAP} (context ${kc.getCurrentContext() || 'in-cluster'})`;
  let data: Record<string, string> | undefined;
  try {
    data = (await kc.makeApiClient(k8s.CoreV1Api).readNamespacedConfigMap({ name: CERT_CONFIGMAP, namespace })).data;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 404) throw new StalledError('CertificateUnavailable', `no ${name}: is sigil-controller running there? (or give --cert)`);
    if (code === 401 || code === 403) {
      throw new StalledError('CertificateUnavailable', `cannot read ${name}: HTTP ${code}, not allowed (ask for get on it, or give --cert)`);
    }
    throw new TransientError('CertificateUnavailable', `cannot read ${name}: ${typeof code === 'number' ? `HTTP ${code}` : String(code ?? 'network error')}`);
  }
  const pem = data?.[CERT_CONFIGMAP_KEY];
  if (!pem) throw new StalledError('CertificateUnavailable', `${name} has no ${CERT_CONFIGMAP_KEY}`);
  return { pem, name };
}
