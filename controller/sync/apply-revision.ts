/**
 * Applies one revision, all or nothing: every object is dry-run on the server first (the API server's own
 * defaulting, validation, admission and schema, never a re-implementation), and only when all pass is
 * anything written. Objects whose kind or namespace the same revision creates cannot be dry-run before that
 * CRD or Namespace exists: those prerequisites are applied (and CRDs awaited until Established) only after
 * everything else passed, and then the rest is dry-run before any of it is written.
 *
 * Writes are server-side applies in wave order (order.ts); each wave must be healthy before the next.
 */
import { StalledError, TransientError, WaitingError } from '../../shared/errors.js';
import { restFailure } from '../runtime/kube-rest.js';
import { describeObject, idOf, type Cluster, type KubeObject } from './cluster.js';
import { assessHealth } from './health.js';
import { orderWaves } from './order.js';
import type { PlannedObject } from './plan.js';

/** How long a CRD of the revision may take to become Established. */
const ESTABLISH_TIMEOUT_MS = 30_000;
/** When a wave is not healthy yet, look again after this long. */
export const WAVE_RECHECK_MS = 5_000;
/** Requests in flight at once for one Application's dry-runs, and for its writes of one kind. */
const DRY_RUN_CONCURRENCY = 8;
const WRITE_CONCURRENCY = 8;

/** What the apply wrote: every object's live resourceVersion after the apply, by `describeObject`. */
export type AppliedVersions = Map<string, string>;

/** Dry-runs then applies `planned`. Throws StalledError/TransientError('DryRunFailed'), TransientError('ApplyFailed'), WaitingError('WaveProgressing'). */
export async function applyRevision(planned: readonly PlannedObject[], cluster: Cluster): Promise<AppliedVersions> {
  const missingNamespaces = new Set<string>();
  for (const ns of new Set(planned.filter((p) => p.newNamespace).map((p) => p.object.metadata.namespace!))) {
    if (!(await cluster.get({ apiVersion: 'v1', kind: 'Namespace', name: ns }))) missingNamespaces.add(ns);
  }
  const deferred = (p: PlannedObject): boolean => p.newKind || (p.newNamespace && missingNamespaces.has(p.object.metadata.namespace!));
  await dryRun(planned.filter((p) => !deferred(p)), cluster);

  const later = planned.filter(deferred);
  if (later.length) {
    const prerequisites = planned.filter(
      (p) => (p.kind === 'Namespace' && missingNamespaces.has(p.object.metadata.name)) || (p.kind === 'CustomResourceDefinition' && definesKindOf(p, later)),
    );
    for (const p of prerequisites) await write(p, cluster);
    for (const crd of prerequisites.filter((p) => p.kind === 'CustomResourceDefinition')) await established(crd, cluster);
    await dryRun(later, cluster);
  }

  const versions: AppliedVersions = new Map();
  const waves = orderWaves(planned);
  for (const [i, wave] of waves.entries()) {
    // Kinds in their order; the objects of one kind together (order.ts keeps each kind's objects adjacent).
    for (const run of runsOfKind(wave.items)) {
      await inParallel(run, WRITE_CONCURRENCY, async (p) => {
        const live = await write(p, cluster);
        versions.set(describeObject(idOf(p.object)), String((live.metadata as { resourceVersion?: string }).resourceVersion ?? ''));
      });
    }
    if (i === waves.length - 1) continue;
    for (const p of wave.items) {
      const health = assessHealth(await cluster.get(idOf(p.object)));
      if (health.status !== 'Healthy') {
        throw new WaitingError('WaveProgressing', `${wave.id} is not healthy yet: ${describeObject(idOf(p.object))} is ${health.status}${health.message ? ` (${health.message})` : ''}`, WAVE_RECHECK_MS);
      }
    }
  }
  return versions;
}

async function dryRun(objects: readonly PlannedObject[], cluster: Cluster): Promise<void> {
  const failures: Array<{ text: string; permanent: boolean }> = [];
  await inParallel(objects, DRY_RUN_CONCURRENCY, async (p) => {
    try {
      await cluster.apply(p.object, true);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const permanent = typeof code === 'number' && code >= 400 && code < 500 && code !== 409 && code !== 429;
      failures.push({ text: `${p.source}: ${describeObject(idOf(p.object))}: ${restFailure(err)}`, permanent });
    }
  });
  if (!failures.length) return;
  failures.sort((a, b) => (a.text < b.text ? -1 : 1));
  const shown = failures.slice(0, 10).map((f) => f.text).join('; ');
  const message = `dry-run refused the revision, nothing was applied: ${shown}${failures.length > 10 ? `; … and ${failures.length - 10} more` : ''}`;
  throw failures.every((f) => f.permanent) ? new StalledError('DryRunFailed', message) : new TransientError('DryRunFailed', message);
}

/** Runs `each` over `items`, at most `limit` at a time; rejects with the first failure once all settled. */
async function inParallel<T>(items: readonly T[], limit: number, each: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++]!;
      await each(item).catch((err: unknown) => errors.push(err));
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (errors.length) throw errors[0];
}

/** `items` cut into runs of the same kind, in order. */
function runsOfKind(items: readonly PlannedObject[]): PlannedObject[][] {
  const runs: PlannedObject[][] = [];
  for (const p of items) {
    const last = runs.at(-1);
    if (last && last[0]!.kind === p.kind && last[0]!.apiVersion === p.apiVersion) last.push(p);
    else runs.push([p]);
  }
  return runs;
}

async function write(p: PlannedObject, cluster: Cluster): Promise<KubeObject> {
  try {
    return await cluster.apply(p.object);
  } catch (err) {
    throw new TransientError('ApplyFailed', `${p.source}: apply ${describeObject(idOf(p.object))}: ${restFailure(err)}`, { cause: err });
  }
}

function definesKindOf(crd: PlannedObject, objects: readonly PlannedObject[]): boolean {
  const spec = (crd.object.spec ?? {}) as { group?: string; names?: { kind?: string } };
  return objects.some((o) => o.kind === spec.names?.kind && o.apiVersion.startsWith(`${spec.group}/`));
}

async function established(crd: PlannedObject, cluster: Cluster): Promise<void> {
  const deadline = Date.now() + ESTABLISH_TIMEOUT_MS;
  for (;;) {
    const health = assessHealth(await cluster.get(idOf(crd.object)));
    if (health.status === 'Healthy') return;
    if (Date.now() > deadline) {
      throw new WaitingError('CrdNotEstablished', `${describeObject(idOf(crd.object))} is not Established after ${ESTABLISH_TIMEOUT_MS / 1000} s`, WAVE_RECHECK_MS);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
