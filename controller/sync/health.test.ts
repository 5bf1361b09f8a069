// assessHealth: one row per rule, each a live object shaped as the API server returns it, with the exact
// Health expected; then aggregateHealth's order.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aggregateHealth, assessHealth, type Health, type HealthStatus } from './health.js';

type Obj = Record<string, unknown>;

const meta = (name: string, generation?: number, extra: Obj = {}): Obj => ({
  name,
  namespace: 'prod',
  uid: '5f0c2a9e-6a43-4c1e-9d7a-2b1f0e9d4c11',
  resourceVersion: '48213',
  ...(generation === undefined ? {} : { generation }),
  labels: { 'sigil.dev/app': 'prod.web' },
  ...extra,
});
const cond = (type: string, status: string, reason = '', message = ''): Obj => ({
  type,
  status,
  lastTransitionTime: '2026-01-02T03:04:05Z',
  ...(reason ? { reason } : {}),
  ...(message ? { message } : {}),
});

const podTemplate = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'registry.example/web:1.4.2' }] } };
const deployment = (spec: Obj, status: Obj, generation = 3): Obj => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: meta('web', generation),
  spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, strategy: { type: 'RollingUpdate' }, template: podTemplate, ...spec },
  status: {
    observedGeneration: 3,
    replicas: 3,
    updatedReplicas: 3,
    readyReplicas: 3,
    availableReplicas: 3,
    conditions: [cond('Available', 'True', 'MinimumReplicasAvailable'), cond('Progressing', 'True', 'NewReplicaSetAvailable', 'ReplicaSet "web-7d4b9c" has successfully progressed.')],
    ...status,
  },
});
const statefulSet = (spec: Obj, status: Obj): Obj => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: meta('db', 2),
  spec: {
    replicas: 3,
    serviceName: 'db',
    selector: { matchLabels: { app: 'db' } },
    updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
    template: podTemplate,
    ...spec,
  },
  status: {
    observedGeneration: 2,
    replicas: 3,
    readyReplicas: 3,
    currentReplicas: 3,
    updatedReplicas: 3,
    availableReplicas: 3,
    currentRevision: 'db-6c9f8d7b5',
    updateRevision: 'db-6c9f8d7b5',
    ...status,
  },
});
const daemonSet = (spec: Obj, status: Obj): Obj => ({
  apiVersion: 'apps/v1',
  kind: 'DaemonSet',
  metadata: meta('agent', 4),
  spec: { selector: { matchLabels: { app: 'agent' } }, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } }, template: podTemplate, ...spec },
  status: { observedGeneration: 4, desiredNumberScheduled: 5, currentNumberScheduled: 5, updatedNumberScheduled: 5, numberReady: 5, numberAvailable: 5, numberMisscheduled: 0, ...status },
});
const replicaSet = (status: Obj): Obj => ({
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  metadata: meta('web-7d4b9c', 1, { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'x', controller: true }] }),
  spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: podTemplate },
  status: { observedGeneration: 1, replicas: 2, fullyLabeledReplicas: 2, readyReplicas: 2, availableReplicas: 2, ...status },
});
const job = (spec: Obj, status: Obj): Obj => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: meta('migrate', 1),
  spec: { backoffLimit: 6, completions: 1, parallelism: 1, suspend: false, template: { ...podTemplate, spec: { ...podTemplate.spec, restartPolicy: 'Never' } }, ...spec },
  status: { startTime: '2026-01-02T03:00:00Z', ...status },
});
const pod = (spec: Obj, status: Obj): Obj => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: meta('web-7d4b9c-x2x7q'),
  spec: { restartPolicy: 'Always', nodeName: 'node-1', containers: [{ name: 'app', image: 'registry.example/web:1.4.2' }], ...spec },
  status: { hostIP: '10.0.0.4', podIP: '10.244.1.7', startTime: '2026-01-02T03:00:00Z', qosClass: 'BestEffort', ...status },
});
const running = { running: { startedAt: '2026-01-02T03:00:05Z' } };
const ctr = (state: Obj, ready: boolean, name = 'app'): Obj => ({ name, image: 'registry.example/web:1.4.2', imageID: '', ready, restartCount: 0, started: ready, state });
const readyConds = (ready: 'True' | 'False'): Obj[] => [
  cond('PodScheduled', 'True'),
  cond('Initialized', 'True'),
  cond('ContainersReady', ready, ready === 'True' ? '' : 'ContainersNotReady', ready === 'True' ? '' : 'containers with unready status: [app]'),
  cond('Ready', ready, ready === 'True' ? '' : 'ContainersNotReady', ready === 'True' ? '' : 'containers with unready status: [app]'),
];
const pvc = (phase: string): Obj => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: meta('data-db-0'),
  spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } }, storageClassName: 'standard', volumeMode: 'Filesystem' },
  status: { phase, ...(phase === 'Bound' ? { accessModes: ['ReadWriteOnce'], capacity: { storage: '10Gi' } } : {}) },
});
const svc = (type: string, ingress?: Obj[]): Obj => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: meta('web'),
  spec: { type, selector: { app: 'web' }, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }], clusterIP: '10.96.12.34' },
  status: { loadBalancer: ingress ? { ingress } : {} },
});
const ing = (apiVersion: string, ingress?: Obj[]): Obj => ({
  apiVersion,
  kind: 'Ingress',
  metadata: meta('web', 1),
  spec: { ingressClassName: 'nginx', rules: [{ host: 'web.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }] },
  status: { loadBalancer: ingress ? { ingress } : {} },
});
const crd = (conditions: Obj[]): Obj => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.example.com', generation: 1 },
  spec: { group: 'example.com', names: { kind: 'Widget', plural: 'widgets' }, scope: 'Namespaced', versions: [{ name: 'v1', served: true, storage: true }] },
  status: { acceptedNames: { kind: 'Widget', plural: 'widgets' }, storedVersions: ['v1'], conditions },
});
const sealed = (apiVersion: string, status: Obj | undefined, generation = 2): Obj => ({
  apiVersion,
  kind: 'SealedSecret',
  metadata: meta('db', generation),
  spec: { encryptedData: { password: 'AgBy3i4OJSWK+PiTySYZZA==' }, template: { metadata: { name: 'db', namespace: 'prod' }, type: 'Opaque' } },
  ...(status ? { status } : {}),
});
const app = (status: Obj, generation = 5): Obj => ({
  apiVersion: 'sigil.dev/v1',
  kind: 'Application',
  metadata: meta('web', generation),
  spec: { source: { repoURL: 'https://git.example.com/platform/web.git', targetRevision: 'main', path: 'deploy' } },
  status: { observedGeneration: 5, sync: { status: 'Synced', revision: '9f2c1e4' }, ...status },
});
const custom = (generation: number | undefined, status: Obj | undefined): Obj => ({
  apiVersion: 'cert-manager.io/v1',
  kind: 'Certificate',
  metadata: meta('web-tls', generation),
  spec: { secretName: 'web-tls', dnsNames: ['web.example.com'], issuerRef: { name: 'letsencrypt', kind: 'ClusterIssuer' } },
  ...(status ? { status } : {}),
});

const cases: Array<[string, Obj | undefined, Health]> = [
  ['not found → Missing', undefined, { status: 'Missing', message: 'not found in the cluster' }],
  ['being deleted → Progressing', { ...deployment({}, {}), metadata: meta('web', 3, { deletionTimestamp: '2026-01-02T03:04:05Z' }) }, { status: 'Progressing', message: 'Pending deletion' }],

  ['Deployment rolled out', deployment({}, {}), { status: 'Healthy' }],
  ['Deployment paused', deployment({ paused: true }, { observedGeneration: 2 }), { status: 'Suspended', message: 'Deployment is paused' }],
  ['Deployment generation not observed', deployment({}, { observedGeneration: 2 }), { status: 'Progressing', message: 'Waiting for the controller to observe generation 3' }],
  [
    'Deployment past its progress deadline',
    deployment({}, { updatedReplicas: 1, availableReplicas: 2, conditions: [cond('Progressing', 'False', 'ProgressDeadlineExceeded', 'ReplicaSet "web-5f6d8" has timed out progressing.')] }),
    { status: 'Degraded', message: 'Deployment exceeded its progress deadline: ReplicaSet "web-5f6d8" has timed out progressing.' },
  ],
  ['Deployment: replicas not yet updated', deployment({}, { updatedReplicas: 1, replicas: 4 }), { status: 'Progressing', message: 'Waiting for rollout: 1 of 3 replicas are updated' }],
  ['Deployment: old replicas pending termination', deployment({}, { replicas: 4 }), { status: 'Progressing', message: 'Waiting for rollout: 1 old replicas are pending termination' }],
  [
    'Deployment: updated replicas not available',
    deployment({ replicas: 1 }, { replicas: 1, updatedReplicas: 1, readyReplicas: 0, availableReplicas: 0 }),
    { status: 'Progressing', message: 'Waiting for rollout: 0 of 1 updated replicas are available' },
  ],
  ['Deployment: no status yet', { ...deployment({}, {}), status: {} }, { status: 'Progressing', message: 'Waiting for the controller to observe generation 3' }],

  ['StatefulSet rolled out', statefulSet({}, {}), { status: 'Healthy' }],
  ['StatefulSet generation not observed', statefulSet({}, { observedGeneration: 1 }), { status: 'Progressing', message: 'Waiting for the controller to observe generation 2' }],
  ['StatefulSet OnDelete, observed', statefulSet({ updateStrategy: { type: 'OnDelete' } }, { readyReplicas: 2, updateRevision: 'db-7a' }), { status: 'Healthy', message: 'OnDelete update strategy: 2 of 3 pods are ready' }],
  ['StatefulSet pods not ready', statefulSet({}, { readyReplicas: 1 }), { status: 'Progressing', message: 'Waiting for rollout: 1 of 3 pods are ready' }],
  ['StatefulSet scaling down', statefulSet({ replicas: 2 }, { replicas: 3 }), { status: 'Progressing', message: 'Waiting for scale down: 1 pods are pending termination' }],
  [
    'StatefulSet rolling update between revisions',
    statefulSet({}, { updatedReplicas: 1, currentReplicas: 2, updateRevision: 'db-7a8b9c0d1' }),
    { status: 'Progressing', message: 'Waiting for rollout: 1 of 3 pods are at revision db-7a8b9c0d1' },
  ],
  [
    'StatefulSet partition: pods above it not yet updated',
    statefulSet({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } }, { updatedReplicas: 0, updateRevision: 'db-7a8b9c0d1' }),
    { status: 'Progressing', message: 'Waiting for partitioned rollout: 0 of 1 pods are updated' },
  ],
  [
    'StatefulSet partition: pods above it updated',
    statefulSet({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } }, { updatedReplicas: 1, currentReplicas: 2, updateRevision: 'db-7a8b9c0d1' }),
    { status: 'Healthy', message: 'Partitioned rollout complete: 1 pods are updated' },
  ],

  ['DaemonSet rolled out', daemonSet({}, {}), { status: 'Healthy' }],
  ['DaemonSet generation not observed', daemonSet({}, { observedGeneration: 3 }), { status: 'Progressing', message: 'Waiting for the controller to observe generation 4' }],
  ['DaemonSet pods not updated', daemonSet({}, { updatedNumberScheduled: 2 }), { status: 'Progressing', message: 'Waiting for rollout: 2 of 5 pods are updated' }],
  ['DaemonSet pods not available', daemonSet({}, { numberAvailable: 4, numberReady: 4, numberUnavailable: 1 }), { status: 'Progressing', message: 'Waiting for rollout: 4 of 5 pods are available' }],
  ['DaemonSet OnDelete, observed', daemonSet({ updateStrategy: { type: 'OnDelete' } }, { updatedNumberScheduled: 2 }), { status: 'Healthy', message: 'OnDelete update strategy: 2 of 5 pods are updated' }],

  ['ReplicaSet available', replicaSet({}), { status: 'Healthy' }],
  ['ReplicaSet generation not observed', { ...replicaSet({}), metadata: meta('web-7d4b9c', 2) }, { status: 'Progressing', message: 'Waiting for the controller to observe generation 2' }],
  [
    'ReplicaSet with ReplicaFailure',
    replicaSet({ replicas: 0, readyReplicas: 0, availableReplicas: 0, conditions: [cond('ReplicaFailure', 'True', 'FailedCreate', 'pods "web-7d4b9c-" is forbidden: exceeded quota: compute, requested: cpu=500m')] }),
    { status: 'Degraded', message: 'pods "web-7d4b9c-" is forbidden: exceeded quota: compute, requested: cpu=500m' },
  ],
  ['ReplicaSet replicas not available', replicaSet({ availableReplicas: 1 }), { status: 'Progressing', message: 'Waiting for rollout: 1 of 2 replicas are available' }],

  [
    'Job failed',
    job({}, { failed: 7, conditions: [cond('Failed', 'True', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit')] }),
    { status: 'Degraded', message: 'Job has reached the specified backoff limit' },
  ],
  ['Job complete', job({}, { succeeded: 1, completionTime: '2026-01-02T03:01:00Z', conditions: [cond('Complete', 'True')] }), { status: 'Healthy' }],
  ['Job suspended', job({ suspend: true }, { conditions: [cond('Suspended', 'True', 'JobSuspended', 'Job suspended')] }), { status: 'Suspended', message: 'Job is suspended' }],
  ['Job running', job({}, { active: 1, ready: 0 }), { status: 'Progressing', message: 'Waiting for the Job to complete: 1 active, 0 succeeded, 0 failed pods' }],

  ['Pod succeeded', pod({ restartPolicy: 'Never' }, { phase: 'Succeeded', containerStatuses: [ctr({ terminated: { exitCode: 0, reason: 'Completed' } }, false)] }), { status: 'Healthy' }],
  [
    'Pod failed with a message',
    pod({}, { phase: 'Failed', reason: 'Evicted', message: 'The node was low on resource: memory.' }),
    { status: 'Degraded', message: 'The node was low on resource: memory.' },
  ],
  [
    'Pod failed: the container exit code, not its termination message',
    pod({ restartPolicy: 'Never' }, { phase: 'Failed', containerStatuses: [ctr({ terminated: { exitCode: 1, reason: 'Error', message: 'DB_PASSWORD=hunter2 rejected' } }, false)] }),
    { status: 'Degraded', message: 'container app terminated: Error (exit code 1)' },
  ],
  ['Pod running and ready', pod({}, { phase: 'Running', conditions: readyConds('True'), containerStatuses: [ctr(running, true)] }), { status: 'Healthy' }],
  [
    'Pod in CrashLoopBackOff',
    pod({}, {
      phase: 'Running',
      conditions: readyConds('False'),
      containerStatuses: [ctr({ waiting: { reason: 'CrashLoopBackOff', message: 'back-off 5m0s restarting failed container=app pod=web-7d4b9c-x2x7q_prod(5f0c2a9e)' } }, false)],
    }),
    { status: 'Degraded', message: 'container app: CrashLoopBackOff: back-off 5m0s restarting failed container=app pod=web-7d4b9c-x2x7q_prod(5f0c2a9e)' },
  ],
  [
    'Pod pending on ImagePullBackOff and an init container on ErrImagePull',
    pod({}, {
      phase: 'Pending',
      conditions: [cond('PodScheduled', 'True'), cond('Initialized', 'False', 'ContainersNotInitialized')],
      initContainerStatuses: [ctr({ waiting: { reason: 'ErrImagePull', message: 'rpc error: code = NotFound desc = failed to pull image "registry.example/init:9"' } }, false, 'init')],
      containerStatuses: [ctr({ waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "registry.example/web:9.9.9"' } }, false)],
    }),
    {
      status: 'Degraded',
      message:
        'container init: ErrImagePull: rpc error: code = NotFound desc = failed to pull image "registry.example/init:9"; container app: ImagePullBackOff: Back-off pulling image "registry.example/web:9.9.9"',
    },
  ],
  [
    'Pod pending: not scheduled',
    pod({}, { phase: 'Pending', conditions: [cond('PodScheduled', 'False', 'Unschedulable', '0/3 nodes are available: 3 Insufficient cpu.')] }),
    { status: 'Progressing', message: 'Waiting for the Pod to start: 0/3 nodes are available: 3 Insufficient cpu.' },
  ],
  [
    'Pod running but not ready (restartPolicy Always)',
    pod({}, { phase: 'Running', conditions: readyConds('False'), containerStatuses: [ctr(running, false)] }),
    { status: 'Progressing', message: 'Waiting for the Pod to be ready: containers with unready status: [app]' },
  ],
  ['Pod running to completion (restartPolicy Never)', pod({ restartPolicy: 'Never' }, { phase: 'Running', conditions: readyConds('True'), containerStatuses: [ctr(running, true)] }), { status: 'Progressing', message: 'Waiting for the Pod to finish' }],
  ['Pod in an unknown phase', pod({}, { phase: 'Unknown' }), { status: 'Unknown', message: 'Pod phase is Unknown' }],

  ['PersistentVolumeClaim bound', pvc('Bound'), { status: 'Healthy' }],
  ['PersistentVolumeClaim lost', pvc('Lost'), { status: 'Degraded', message: 'The claim lost its PersistentVolume' }],
  ['PersistentVolumeClaim pending', pvc('Pending'), { status: 'Progressing', message: 'Waiting for a PersistentVolume to be bound' }],

  ['Service ClusterIP', svc('ClusterIP'), { status: 'Healthy' }],
  ['Service LoadBalancer without an address', svc('LoadBalancer'), { status: 'Progressing', message: 'Waiting for the load balancer to get an address' }],
  ['Service LoadBalancer with an address', svc('LoadBalancer', [{ ip: '203.0.113.10', ipMode: 'VIP' }]), { status: 'Healthy' }],

  ['Ingress with an address', ing('networking.k8s.io/v1', [{ hostname: 'lb-1234.elb.example.com' }]), { status: 'Healthy' }],
  ['Ingress without an address', ing('networking.k8s.io/v1'), { status: 'Progressing', message: 'Waiting for the ingress controller to publish an address' }],
  ['Ingress (extensions/v1beta1) without an address', ing('extensions/v1beta1'), { status: 'Progressing', message: 'Waiting for the ingress controller to publish an address' }],

  ['CRD established', crd([cond('NamesAccepted', 'True', 'NoConflicts', 'no conflicts found'), cond('Established', 'True', 'InitialNamesAccepted', 'the initial names have been accepted')]), { status: 'Healthy' }],
  ['CRD names not accepted', crd([cond('NamesAccepted', 'False', 'MultipleNamesConflict', '"widgets" is already in use'), cond('Established', 'False', 'NotAccepted', 'not all names are accepted')]), { status: 'Degraded', message: '"widgets" is already in use' }],
  ['CRD not yet established', crd([cond('NamesAccepted', 'True', 'NoConflicts', 'no conflicts found'), cond('Established', 'False', 'Installing', 'the initial names have been accepted')]), { status: 'Progressing', message: 'Waiting for the CustomResourceDefinition to be established' }],

  ['SealedSecret (sigil.dev) unsealed', sealed('sigil.dev/v1', { observedGeneration: 2, conditions: [cond('Ready', 'True', 'Unsealed', 'Secret prod/db is up to date')] }), { status: 'Healthy' }],
  [
    'SealedSecret (sigil.dev) that no key opens',
    sealed('sigil.dev/v1', { observedGeneration: 2, conditions: [cond('Ready', 'False', 'DecryptFailed', 'SealedSecret prod/db: key password: no key could open it')] }),
    { status: 'Degraded', message: 'SealedSecret prod/db: key password: no key could open it' },
  ],
  ['SealedSecret (sigil.dev) without status', sealed('sigil.dev/v1', undefined), { status: 'Progressing', message: 'Waiting for the controller to unseal it' }],
  ['SealedSecret (sigil.dev) with an old observedGeneration', sealed('sigil.dev/v1', { observedGeneration: 1, conditions: [cond('Ready', 'True', 'Unsealed')] }), { status: 'Progressing', message: 'Waiting for the controller to observe generation 2' }],
  ['SealedSecret (bitnami.com) synced', sealed('bitnami.com/v1alpha1', { observedGeneration: 2, conditions: [{ ...cond('Synced', 'True'), lastUpdateTime: '2026-01-02T03:04:05Z' }] }), { status: 'Healthy' }],
  [
    'SealedSecret (bitnami.com) not synced',
    sealed('bitnami.com/v1alpha1', { observedGeneration: 2, conditions: [cond('Synced', 'False', 'ErrUnsealFailed', 'no key could decrypt secret (password)')] }),
    { status: 'Degraded', message: 'no key could decrypt secret (password)' },
  ],

  ['Application: its own health', app({ health: { status: 'Degraded', message: 'Deployment prod/web: exceeded its progress deadline' } }), { status: 'Degraded', message: 'Deployment prod/web: exceeded its progress deadline' }],
  ['Application without health', app({}), { status: 'Unknown' }],
  ['Application with a health it cannot have', app({ health: { status: 'Sick' } }), { status: 'Unknown' }],
  ['Application with an old observedGeneration', app({ observedGeneration: 4, health: { status: 'Healthy' } }), { status: 'Progressing', message: 'Waiting for the controller to observe generation 5' }],

  ['other kind with an old observedGeneration', custom(2, { observedGeneration: 1, conditions: [cond('Ready', 'True', 'Ready', 'Certificate is up to date')] }), { status: 'Progressing', message: 'Waiting for the controller to observe generation 2' }],
  ['other kind: Ready True', custom(2, { observedGeneration: 2, conditions: [cond('Ready', 'True', 'Ready', 'Certificate is up to date and has not expired')] }), { status: 'Healthy' }],
  ['other kind: Ready False', custom(2, { conditions: [cond('Ready', 'False', 'DoesNotExist', 'Issuing certificate as Secret does not exist')] }), { status: 'Degraded', message: 'Issuing certificate as Secret does not exist' }],
  ['other kind: Ready False, still in progress', custom(2, { conditions: [cond('Ready', 'False', 'InProgress', 'Waiting for CertificateRequest "web-tls-1"')] }), { status: 'Progressing', message: 'Waiting for Ready: Waiting for CertificateRequest "web-tls-1"' }],
  ['other kind: Ready Unknown', custom(2, { conditions: [cond('Ready', 'Unknown', 'Pending', 'Issuance started')] }), { status: 'Progressing', message: 'Waiting for Ready: Issuance started' }],
  ['other kind: no Ready condition', custom(2, { conditions: [cond('Issuing', 'True')] }), { status: 'Healthy' }],
  ['ConfigMap', { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('web-config'), data: { 'app.yaml': 'port: 8080' } }, { status: 'Healthy' }],
  [
    'Secret: healthy, and nothing of its data in the answer',
    { apiVersion: 'v1', kind: 'Secret', metadata: meta('db'), type: 'Opaque', data: { password: 'aHVudGVyMg==' }, stringData: { user: 'admin' } },
    { status: 'Healthy' },
  ],
  ['ClusterRole', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'web-reader' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] }, { status: 'Healthy' }],
];

describe('assessHealth', () => {
  for (const [name, obj, expected] of cases) it(name, () => assert.deepEqual(assessHealth(obj), expected));

  it('counts fields of the wrong type as absent, and never throws', () => {
    const odd = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { generation: '3' }, spec: { replicas: 'two', paused: 'yes' }, status: { conditions: 'none', updatedReplicas: null } };
    assert.deepEqual(assessHealth(odd), { status: 'Progressing', message: 'Waiting for rollout: 0 of 1 replicas are updated' });
    assert.deepEqual(assessHealth({ kind: 'Pod', apiVersion: 'v1', status: { containerStatuses: [null, 'x'] } }), { status: 'Unknown', message: 'Pod phase is not reported' });
    assert.deepEqual(assessHealth({}), { status: 'Healthy' });
  });
});

describe('aggregateHealth', () => {
  const rows: Array<[HealthStatus[], HealthStatus]> = [
    [[], 'Healthy'],
    [['Healthy', 'Healthy'], 'Healthy'],
    [['Healthy', 'Unknown'], 'Unknown'],
    [['Unknown', 'Suspended', 'Healthy'], 'Suspended'],
    [['Suspended', 'Progressing'], 'Progressing'],
    [['Progressing', 'Missing', 'Healthy'], 'Missing'],
    [['Missing', 'Degraded', 'Progressing', 'Suspended', 'Unknown', 'Healthy'], 'Degraded'],
  ];
  for (const [input, expected] of rows) it(`[${input.join(', ')}] → ${expected}`, () => assert.equal(aggregateHealth(input), expected));
});
