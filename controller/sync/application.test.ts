// readApplicationSpec as tables: the defaulted spec it reads from each input, and the exact InvalidSpec
// message of each refusal; then properties over source paths.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { StalledError } from '../../shared/errors.js';
import { appLabelValue, readApplicationSpec, type ApplicationResource, type ApplicationSpec } from './application.js';

const REPO = 'https://git.example.com/team/deploy.git';

/** An Application team-a/web with `spec`. */
const app = (spec: unknown, metadata: ApplicationResource['metadata'] = { name: 'web', namespace: 'team-a' }): ApplicationResource => ({ metadata, spec });
/** A spec with REPO as its source, plus `more` at the top level and `source` merged into the source. */
const spec = (more: Record<string, unknown> = {}, source: Record<string, unknown> = {}): Record<string, unknown> => ({ source: { repoURL: REPO, ...source }, ...more });

/** What a spec naming only its repoURL reads as. */
const DEFAULTS: ApplicationSpec = {
  source: { repoURL: REPO, targetRevision: 'main', path: '' },
  destination: { namespace: 'team-a' },
  intervalMs: 180_000,
  retry: { limit: 5, durationMs: 5_000, factor: 2, maxDurationMs: 180_000 },
  allowPlaintextSecrets: false,
  suspend: false,
};

describe('readApplicationSpec reads and defaults', () => {
  const cases: { name: string; app: ApplicationResource; want: ApplicationSpec }[] = [
    { name: 'only a repoURL: every default', app: app(spec()), want: DEFAULTS },
    { name: 'path "." is the root', app: app(spec({}, { path: '.' })), want: DEFAULTS },
    { name: 'path "./" is the root', app: app(spec({}, { path: './' })), want: DEFAULTS },
    { name: 'an empty path is the root', app: app(spec({}, { path: '' })), want: DEFAULTS },
    { name: 'path "./deploy/" is normalized to "deploy"', app: app(spec({}, { path: './deploy/' })), want: { ...DEFAULTS, source: { ...DEFAULTS.source, path: 'deploy' } } },
    { name: 'a nested path is kept', app: app(spec({}, { path: 'envs/prod' })), want: { ...DEFAULTS, source: { ...DEFAULTS.source, path: 'envs/prod' } } },
    { name: 'a hidden folder keeps its dot', app: app(spec({}, { path: '.deploy/prod' })), want: { ...DEFAULTS, source: { ...DEFAULTS.source, path: '.deploy/prod' } } },
    { name: 'a name with two dots inside is no parent', app: app(spec({}, { path: 'a..b' })), want: { ...DEFAULTS, source: { ...DEFAULTS.source, path: 'a..b' } } },
    {
      name: 'strings are trimmed',
      app: app(spec({ destination: { namespace: ' prod ' } }, { repoURL: `  ${REPO}\n`, targetRevision: ' v1.2.0 ', path: ' deploy ' })),
      want: { ...DEFAULTS, source: { repoURL: REPO, targetRevision: 'v1.2.0', path: 'deploy' }, destination: { namespace: 'prod' } },
    },
    { name: 'an empty targetRevision is main', app: app(spec({}, { targetRevision: '' })), want: DEFAULTS },
    { name: 'a secretRef names its Secret, in the namespace of the Application', app: app(spec({}, { secretRef: { name: 'git-creds' } })), want: { ...DEFAULTS, source: { ...DEFAULTS.source, secretRef: { namespace: 'team-a', name: 'git-creds' } } } },
    { name: 'a secretRef in another namespace', app: app(spec({}, { secretRef: { name: 'git-creds', namespace: 'shared' } })), want: { ...DEFAULTS, source: { ...DEFAULTS.source, secretRef: { namespace: 'shared', name: 'git-creds' } } } },
    {
      name: 'verify names the Secret of trusted keys',
      app: app(spec({}, { verify: { mode: 'head', secretRef: { name: 'keys' } } })),
      want: { ...DEFAULTS, source: { ...DEFAULTS.source, verify: { mode: 'head', secretRef: { namespace: 'team-a', name: 'keys' } } } },
    },
    {
      name: 'a remote cluster by its Secret',
      app: app(spec({ destination: { namespace: 'prod', cluster: { secretRef: { name: 'east' } } } })),
      want: { ...DEFAULTS, destination: { namespace: 'prod', cluster: { secretRef: { namespace: 'team-a', name: 'east' } } } },
    },
    { name: 'a serviceAccountName', app: app(spec({ serviceAccountName: 'deployer' })), want: { ...DEFAULTS, serviceAccountName: 'deployer' } },
    { name: 'a destination namespace', app: app(spec({ destination: { namespace: 'prod' } })), want: { ...DEFAULTS, destination: { namespace: 'prod' } } },
    { name: 'no namespace anywhere: default', app: app(spec(), { name: 'web' }), want: { ...DEFAULTS, destination: { namespace: 'default' } } },
    { name: 'automated: {} is automated with everything off', app: app(spec({ syncPolicy: { automated: {} } })), want: { ...DEFAULTS, automated: { prune: false, selfHeal: false, allowEmpty: false } } },
    {
      name: 'automated with everything on',
      app: app(spec({ syncPolicy: { automated: { prune: true, selfHeal: true, allowEmpty: true } } })),
      want: { ...DEFAULTS, automated: { prune: true, selfHeal: true, allowEmpty: true } },
    },
    {
      name: 'automated flags must be true, not "true"',
      app: app(spec({ syncPolicy: { automated: { prune: 'true', selfHeal: 1, allowEmpty: null } } })),
      want: { ...DEFAULTS, automated: { prune: false, selfHeal: false, allowEmpty: false } },
    },
    { name: 'automated that is not a mapping is off', app: app(spec({ syncPolicy: { automated: true } })), want: DEFAULTS },
    { name: 'interval 1s', app: app(spec({ syncPolicy: { interval: '1s' } })), want: { ...DEFAULTS, intervalMs: 1_000 } },
    { name: 'interval 1m30s', app: app(spec({ syncPolicy: { interval: '1m30s' } })), want: { ...DEFAULTS, intervalMs: 90_000 } },
    { name: 'interval 1.5h', app: app(spec({ syncPolicy: { interval: '1.5h' } })), want: { ...DEFAULTS, intervalMs: 5_400_000 } },
    {
      name: 'a retry policy',
      app: app(spec({ syncPolicy: { retry: { limit: 2, backoff: { duration: '10s', factor: 3, maxDuration: '1h' } } } })),
      want: { ...DEFAULTS, retry: { limit: 2, durationMs: 10_000, factor: 3, maxDurationMs: 3_600_000 } },
    },
    { name: 'retry limit 0', app: app(spec({ syncPolicy: { retry: { limit: 0 } } })), want: { ...DEFAULTS, retry: { ...DEFAULTS.retry, limit: 0 } } },
    { name: 'allowPlaintextSecrets true', app: app(spec({ policy: { allowPlaintextSecrets: true } })), want: { ...DEFAULTS, allowPlaintextSecrets: true } },
    { name: 'allowPlaintextSecrets "true" is not true', app: app(spec({ policy: { allowPlaintextSecrets: 'true' } })), want: DEFAULTS },
    { name: 'suspend true', app: app(spec({ suspend: true })), want: { ...DEFAULTS, suspend: true } },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(readApplicationSpec(c.app), c.want));
  }

  it('leaves automated out when it is absent', () => {
    assert.equal('automated' in readApplicationSpec(app(spec())), false);
    assert.equal('automated' in readApplicationSpec(app(spec({ syncPolicy: { interval: '5m' } }))), false);
  });

  const urls = [REPO, 'http://git.local/repo', 'ssh://git@git.example.com/team/deploy.git', 'git://git.example.com/deploy', 'file:///srv/git/deploy', 'git@github.com:team/deploy.git'];
  for (const repoURL of urls) {
    it(`accepts the repoURL ${repoURL}`, () => assert.equal(readApplicationSpec(app(spec({}, { repoURL }))).source.repoURL, repoURL));
  }
});

describe('readApplicationSpec refuses', () => {
  const where = 'Application team-a/web';
  const scheme = 'must be an https://, http://, ssh://, git:// or file:// URL (or user@host:path)';
  const inside = 'must be a relative path inside the repository';
  const notDuration = 'is not a duration such as 30s, 3m or 1h';
  const cases: { name: string; app: ApplicationResource; message: string }[] = [
    { name: 'no spec', app: app(undefined), message: `${where}: spec is missing` },
    { name: 'a spec that is a list', app: app([spec()]), message: `${where}: spec is missing` },
    { name: 'no source', app: app({ destination: { namespace: 'prod' } }), message: `${where}: spec.source is missing` },
    { name: 'a source that is a string', app: app({ source: REPO }), message: `${where}: spec.source is missing` },
    { name: 'no repoURL', app: app({ source: { path: 'deploy' } }), message: `${where}: spec.source.repoURL is missing` },
    { name: 'a blank repoURL', app: app({ source: { repoURL: '   ' } }), message: `${where}: spec.source.repoURL is missing` },
    { name: 'a repoURL that is a number', app: app({ source: { repoURL: 42 } }), message: `${where}: spec.source.repoURL is missing` },
    { name: 'a repoURL without a scheme', app: app(spec({}, { repoURL: 'github.com/team/deploy' })), message: `${where}: spec.source.repoURL ${scheme}` },
    { name: 'an ftp:// repoURL', app: app(spec({}, { repoURL: 'ftp://git.example.com/deploy' })), message: `${where}: spec.source.repoURL ${scheme}` },
    { name: 'a local path as repoURL', app: app(spec({}, { repoURL: '/srv/git/deploy' })), message: `${where}: spec.source.repoURL ${scheme}` },
    { name: 'path ..', app: app(spec({}, { path: '..' })), message: `${where}: spec.source.path ${inside}` },
    { name: 'path ../other', app: app(spec({}, { path: '../other' })), message: `${where}: spec.source.path ${inside}` },
    { name: 'path ./../other', app: app(spec({}, { path: './../other' })), message: `${where}: spec.source.path ${inside}` },
    { name: 'path deploy/../../etc', app: app(spec({}, { path: 'deploy/../../etc' })), message: `${where}: spec.source.path ${inside}` },
    { name: 'path deploy/..', app: app(spec({}, { path: 'deploy/..' })), message: `${where}: spec.source.path ${inside}` },
    { name: 'an absolute path', app: app(spec({}, { path: '/etc/kubernetes' })), message: `${where}: spec.source.path ${inside}` },
    { name: 'path /', app: app(spec({}, { path: '/' })), message: `${where}: spec.source.path ${inside}` },
    { name: 'a secretRef without a name', app: app(spec({}, { secretRef: { name: '' } })), message: `${where}: spec.source.secretRef.name is missing` },
    { name: 'verify without a secretRef', app: app(spec({}, { verify: { mode: 'head' } })), message: `${where}: spec.source.verify.secretRef is missing` },
    { name: 'verify of every commit', app: app(spec({}, { verify: { mode: 'all', secretRef: { name: 'k' } } })), message: `${where}: spec.source.verify.mode must be head, not "all"` },
    { name: 'a cluster without a secretRef', app: app(spec({ destination: { cluster: {} } })), message: `${where}: spec.destination.cluster.secretRef is missing` },
    { name: 'a serviceAccountName with capitals', app: app(spec({ serviceAccountName: 'Deployer' })), message: `${where}: spec.serviceAccountName is not a valid ServiceAccount name` },
    { name: 'an interval in words', app: app(spec({ syncPolicy: { interval: '3 minutes' } })), message: `${where}: spec.syncPolicy.interval ${notDuration}: "3 minutes"` },
    { name: 'an interval in days', app: app(spec({ syncPolicy: { interval: '1d' } })), message: `${where}: spec.syncPolicy.interval ${notDuration}: "1d"` },
    { name: 'an interval of 500ms', app: app(spec({ syncPolicy: { interval: '500ms' } })), message: `${where}: spec.syncPolicy.interval must be at least 1s` },
    { name: 'an interval of 0', app: app(spec({ syncPolicy: { interval: '0' } })), message: `${where}: spec.syncPolicy.interval must be at least 1s` },
    {
      name: 'a retry duration in words',
      app: app(spec({ syncPolicy: { retry: { backoff: { duration: 'soon' } } } })),
      message: `${where}: spec.syncPolicy.retry.backoff.duration ${notDuration}: "soon"`,
    },
    {
      name: 'a retry maxDuration with a space',
      app: app(spec({ syncPolicy: { retry: { backoff: { maxDuration: '1 h' } } } })),
      message: `${where}: spec.syncPolicy.retry.backoff.maxDuration ${notDuration}: "1 h"`,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.throws(
        () => readApplicationSpec(c.app),
        (err: unknown) => {
          assert.ok(err instanceof StalledError, `not a StalledError: ${String(err)}`);
          assert.equal(err.reason, 'InvalidSpec');
          assert.equal(err.message, c.message);
          return true;
        },
      );
    });
  }
});

describe('readApplicationSpec paths (properties)', () => {
  const segment = fc.stringMatching(/^[a-z0-9_.-]{1,8}$/).filter((s) => s !== '.' && s !== '..');
  const segments = fc.array(segment, { minLength: 1, maxLength: 5 });

  it('reads ./<p>/ and <p> as <p> for any relative path without . or .. segments', () => {
    fc.assert(
      fc.property(segments, (parts) => {
        const path = parts.join('/');
        assert.equal(readApplicationSpec(app(spec({}, { path: `./${path}/` }))).source.path, path);
        assert.equal(readApplicationSpec(app(spec({}, { path }))).source.path, path);
      }),
    );
  });

  it('refuses any path with a .. segment, wherever it is', () => {
    fc.assert(
      fc.property(segments, fc.nat(), (parts, at) => {
        const withParent = [...parts];
        withParent.splice(at % (parts.length + 1), 0, '..');
        assert.throws(() => readApplicationSpec(app(spec({}, { path: withParent.join('/') }))), {
          name: 'StalledError',
          message: 'Application team-a/web: spec.source.path must be a relative path inside the repository',
        });
      }),
    );
  });
});

describe('appLabelValue', () => {
  const cases: [namespace: string, name: string, want: string][] = [
    ['team-a', 'web', 'team-a.web'],
    ['default', 'my.app', 'default.my.app'],
  ];
  for (const [namespace, name, want] of cases) {
    it(`${namespace}/${name} → ${want}`, () => assert.equal(appLabelValue(namespace, name), want));
  }
});
