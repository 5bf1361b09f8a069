/**
 * A deadline for one client-node call. client-node sets none: against a server that accepts the connection
 * and never answers (a wrong port behind a proxy, a hung apiserver), a call waits forever. Its per-call
 * options take a middleware, which here gives the request an AbortSignal; node-fetch then rejects with an
 * `AbortError` and closes the socket.
 */
import * as k8s from '@kubernetes/client-node';

/** Per-call options of client-node's object-parameter APIs (the second argument of every call). */
export type CallOptions = Parameters<k8s.CoreV1Api['listNamespacedSecret']>[1];

/** Options that abort the call after `ms` milliseconds; pass as the call's second argument. */
export function requestTimeout(ms: number): CallOptions {
  return {
    middleware: [
      {
        pre: (ctx: k8s.RequestContext) => {
          ctx.setSignal(AbortSignal.timeout(ms));
          return new k8s.Observable(Promise.resolve(ctx));
        },
        post: (ctx: k8s.ResponseContext) => new k8s.Observable(Promise.resolve(ctx)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}

/** True for the error a call aborted by requestTimeout rejects with. */
export function isRequestTimeout(err: unknown): boolean {
  return (err as { name?: unknown } | null)?.name === 'AbortError';
}
