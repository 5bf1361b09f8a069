import yaml from 'js-yaml';

/**
 * The YAML schema every manifest is read and written with: js-yaml's default schema, adjusted to read
 * scalars the way kubectl and the API server do (sigs.k8s.io/yaml, a YAML 1.1 reader):
 *
 * - `yes`/`no`/`on`/`off`/`y`/`n` (any of their cases) are booleans, so `enabled: yes` under `stringData`
 *   is caught as a non-string instead of silently becoming the text "yes";
 * - an unquoted date such as `2024-01-01` stays a string: Kubernetes never turns it into a timestamp.
 */
const TRUE_WORDS = ['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON'];
const FALSE_WORDS = ['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF'];

const yaml11Bool = new yaml.Type('tag:yaml.org,2002:bool', {
  kind: 'scalar',
  resolve: (data: unknown) => typeof data === 'string' && (TRUE_WORDS.includes(data) || FALSE_WORDS.includes(data)),
  construct: (data: string) => TRUE_WORDS.includes(data),
  predicate: (value: object) => typeof value === 'boolean',
  represent: (value: object) => (value.valueOf() ? 'true' : 'false'),
});

const timestampsStayStrings = new yaml.Type('tag:yaml.org,2002:timestamp', {
  kind: 'scalar',
  resolve: () => false,
});

/** The schema for `load`, `loadAll` and `dump` of Kubernetes manifests. */
export const MANIFEST_SCHEMA: yaml.Schema = yaml.DEFAULT_SCHEMA.extend({ implicit: [yaml11Bool, timestampsStayStrings] });
