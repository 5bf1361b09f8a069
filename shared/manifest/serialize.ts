import yaml from 'js-yaml';
import type { ManifestFormat } from './parse.js';

/**
 * Writes objects as a manifest text. YAML: one document each, joined by `---`, lines never wrapped (long
 * base64 values stay on one line), double quotes where quoting is needed. JSON: each object pretty-printed
 * on its own, concatenated (one object stays a plain JSON object). The text ends with a newline.
 * YAML is written with js-yaml's default schema: it quotes dates as well as `yes`/`no`/`on`/`off`, so no
 * YAML reader, 1.1 or 1.2, takes a string for anything else.
 * Throws only what js-yaml throws for values YAML cannot hold (functions, symbols).
 */
export function serializeManifests(objects: Record<string, unknown>[], format: ManifestFormat): string {
  if (format === 'json') return objects.map((object) => `${JSON.stringify(object, null, 2)}\n`).join('');
  return objects
    .map((object) => yaml.dump(object, { lineWidth: -1, noRefs: true, quotingType: '"' }))
    .join('---\n');
}
