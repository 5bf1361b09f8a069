/**
 * Sealing scopes and the OAEP label each one binds a value to. The labels are Sealed Secrets' own, so a
 * value sealed by either tool opens only where the other would open it:
 *
 * | scope          | label                    |
 * |----------------|--------------------------|
 * | strict         | `<namespace>/<name>`     |
 * | namespace-wide | `<namespace>`            |
 * | cluster-wide   | `` (empty)               |
 */
export const SCOPES = ['strict', 'namespace-wide', 'cluster-wide'] as const;
export type Scope = (typeof SCOPES)[number];

/** True when `value` names one of the three scopes. */
export function isScope(value: unknown): value is Scope {
  return typeof value === 'string' && (SCOPES as readonly string[]).includes(value);
}

/** The OAEP label for a value sealed in `scope` for the Secret `namespace/name`. */
export function scopeLabel(scope: Scope, namespace: string, name: string): Buffer {
  switch (scope) {
    case 'strict':
      return Buffer.from(`${namespace}/${name}`, 'utf8');
    case 'namespace-wide':
      return Buffer.from(namespace, 'utf8');
    case 'cluster-wide':
      return Buffer.alloc(0);
  }
}
