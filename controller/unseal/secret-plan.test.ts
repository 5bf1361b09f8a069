// Every ownership rule of the unsealer as a table: create, leave, restore drift, take over, patch, refuse.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Secret } from '@kubernetes/client-node';
import { BITNAMI_ANNOTATIONS, planSecret, type DesiredSecret, type Owner } from './secret-plan.js';

const OWNER: Owner = { apiVersion: 'sigil.dev/v1', kind: 'SealedSecret', name: 'db', namespace: 'prod', uid: 'u-1' };
const REF = { apiVersion: 'sigil.dev/v1', kind: 'SealedSecret', name: 'db', uid: 'u-1', controller: true };
const DESIRED: DesiredSecret = { labels: { app: 'db' }, annotations: {}, type: 'Opaque', data: { password: 'aHVudGVyMg==' } };

function secret(over: { labels?: Record<string, string>; annotations?: Record<string, string>; refs?: unknown[]; data?: Record<string, string>; type?: string; immutable?: boolean } = {}): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: 'db',
      namespace: 'prod',
      resourceVersion: '7',
      labels: over.labels ?? { app: 'db', 'sigil.dev/sealed-secret': 'db' },
      ...(over.annotations ? { annotations: over.annotations } : {}),
      ...(over.refs ? { ownerReferences: over.refs as never } : { ownerReferences: [REF] }),
    },
    type: over.type ?? 'Opaque',
    ...(over.immutable !== undefined ? { immutable: over.immutable } : {}),
    data: over.data ?? { password: 'aHVudGVyMg==' },
  };
}

describe('planSecret', () => {
  it('creates a missing Secret, owned, with the ownership label', () => {
    assert.deepEqual(planSecret(OWNER, DESIRED, undefined), {
      action: 'create',
      secret: {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'db', namespace: 'prod', labels: { app: 'db', 'sigil.dev/sealed-secret': 'db' }, annotations: undefined, ownerReferences: [REF] },
        type: 'Opaque',
        data: { password: 'aHVudGVyMg==' },
      },
    });
  });

  it('writes nothing when the owned Secret already matches', () => {
    assert.deepEqual(planSecret(OWNER, DESIRED, secret()), { action: 'none' });
  });

  const updates: [string, V1Secret, Partial<DesiredSecret>?][] = [
    ['restores hand-edited data', secret({ data: { password: 'ZWRpdGVk' } })],
    ['removes a key added by hand', secret({ data: { password: 'aHVudGVyMg==', extra: 'eA==' } })],
    ['restores labels', secret({ labels: { 'sigil.dev/sealed-secret': 'db' } })],
    ['takes over a Secret annotated managed', secret({ refs: [], annotations: { 'sigil.dev/managed': 'true' } })],
  ];
  for (const [name, existing] of updates) {
    it(`updates: ${name}`, () => {
      const plan = planSecret(OWNER, DESIRED, existing);
      assert.equal(plan.action, 'update');
      const s = (plan as { secret: V1Secret }).secret;
      assert.deepEqual(s.data, DESIRED.data);
      assert.deepEqual(s.metadata?.ownerReferences, [REF]);
      assert.equal(s.metadata?.resourceVersion, '7');
    });
  }

  it('recreates when the type changes or an immutable Secret must change', () => {
    assert.equal(planSecret(OWNER, DESIRED, secret({ type: 'kubernetes.io/tls' })).action, 'recreate');
    assert.equal(planSecret(OWNER, DESIRED, secret({ immutable: true, data: { password: 'b2xk' } })).action, 'recreate');
    assert.equal(planSecret(OWNER, { ...DESIRED, immutable: true }, secret({ immutable: true })).action, 'none');
  });

  it('refuses a Secret it does not own', () => {
    for (const existing of [secret({ refs: [], labels: {} }), secret({ refs: [{ ...REF, uid: 'someone-else' }] })]) {
      assert.throws(() => planSecret(OWNER, DESIRED, existing), {
        name: 'StalledError',
        reason: 'NotOwned',
        message: 'Secret prod/db exists and is not owned by this SealedSecret; annotate it sigil.dev/managed: "true" to let the controller take it over, or sigil.dev/patch: "true" to merge into it',
      });
    }
  });

  it('patches keys, labels and annotations into a Secret annotated patch, keeping its owner', () => {
    const theirs = secret({ refs: [{ ...REF, uid: 'other', kind: 'Thing' }], labels: { team: 'a' }, annotations: { 'sigil.dev/patch': 'true' }, data: { other: 'eA==' } });
    const plan = planSecret(OWNER, { ...DESIRED, annotations: { note: 'n' } }, theirs);
    assert.equal(plan.action, 'update');
    const s = (plan as { secret: V1Secret }).secret;
    assert.deepEqual(s.data, { other: 'eA==', password: 'aHVudGVyMg==' });
    assert.deepEqual(s.metadata?.labels, { team: 'a', app: 'db' });
    assert.deepEqual(s.metadata?.annotations, { 'sigil.dev/patch': 'true', note: 'n' });
    assert.deepEqual(s.metadata?.ownerReferences, [{ ...REF, uid: 'other', kind: 'Thing' }]);
    assert.deepEqual(planSecret(OWNER, { ...DESIRED, annotations: { note: 'n' } }, s), { action: 'none' });
  });

  it('writes no ownerReference when the template says skip-owner-reference', () => {
    const desired = { ...DESIRED, annotations: { 'sigil.dev/skip-owner-reference': 'true' } };
    const plan = planSecret(OWNER, desired, undefined) as { secret: V1Secret };
    assert.equal(plan.secret.metadata?.ownerReferences, undefined);
    const existing = { ...plan.secret, metadata: { ...plan.secret.metadata, resourceVersion: '1' } };
    assert.deepEqual(planSecret(OWNER, desired, existing), { action: 'none' });
  });

  it("uses Sealed Secrets' annotation names for bitnami.com SealedSecrets", () => {
    const theirs = secret({ refs: [], labels: {}, annotations: { 'sealedsecrets.bitnami.com/managed': 'true' } });
    assert.equal(planSecret(OWNER, DESIRED, theirs, BITNAMI_ANNOTATIONS).action, 'update');
    assert.throws(() => planSecret(OWNER, DESIRED, secret({ refs: [], labels: {}, annotations: { 'sigil.dev/managed': 'true' } }), BITNAMI_ANNOTATIONS), {
      reason: 'NotOwned',
      message: 'Secret prod/db exists and is not owned by this SealedSecret; annotate it sealedsecrets.bitnami.com/managed: "true" to let the controller take it over, or sealedsecrets.bitnami.com/patch: "true" to merge into it',
    });
    const skip = planSecret(OWNER, { ...DESIRED, annotations: { 'sealedsecrets.bitnami.com/skip-set-owner-references': 'true' } }, undefined, BITNAMI_ANNOTATIONS);
    assert.equal((skip as { secret: V1Secret }).secret.metadata?.ownerReferences, undefined);
  });
});
