/**
 * The controller's KubeConfig: `--kubeconfig`/KUBECONFIG, else in-cluster, with one keep-alive HTTPS agent
 * for all requests. client-node 1.4 builds a new agent, and so a new TLS connection, for every request: at
 * a thousand objects that handshake costs more CPU, on both sides, than the work itself.
 */
import type { Agent } from 'node:http';
import * as k8s from '@kubernetes/client-node';

/** Loads the KubeConfig and makes every API client made from it share one keep-alive agent. */
export function loadKubeConfig(file: string | undefined): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (file) kc.loadFromFile(file);
  else kc.loadFromDefault();
  shareAgent(kc);
  return kc;
}

/**
 * Replaces the (private) per-request agent factory of `kc` with one that builds a keep-alive agent once and
 * returns it every time. The agent options come from the same kubeconfig each time (CA, client certificate),
 * so one agent serves them all; bearer tokens travel in headers and are still read per request.
 */
export function shareAgent(kc: k8s.KubeConfig): void {
  const target = kc as unknown as { createAgent: (cluster: unknown, options: Record<string, unknown>) => Agent };
  const build = target.createAgent.bind(kc);
  let agent: Agent | undefined;
  target.createAgent = (cluster, options) => (agent ??= build(cluster, { ...options, keepAlive: true }));
}

