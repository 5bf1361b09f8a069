/**
 * The names users see around sealing keys (fixed by the design): how key Secrets are labelled, typed and
 * named (the published certificate's ConfigMap is in shared/names.ts, since `seal` reads it too). Sealed
 * Secrets' own label is here too, so that the controller can adopt its keys.
 */

/** Which controller a key Secret belongs to: Sigil's own, or one adopted from Sealed Secrets. */
export type KeySource = 'sigil' | 'bitnami';

/** The label that marks a key Secret, per source; its value is one of KEY_STATES. */
export const KEY_LABELS = {
  sigil: 'sigil.dev/sealing-key',
  bitnami: 'sealedsecrets.bitnami.com/sealed-secrets-key',
} as const satisfies Record<KeySource, string>;

/** The label values: `active` keys open and seal; `compromised` keys are never used or published again. */
export const KEY_STATES = ['active', 'compromised'] as const;
/** One of KEY_STATES. */
export type KeyState = (typeof KEY_STATES)[number];

/** The Secret type of key Secrets, and its two data keys. */
export const KEY_SECRET_TYPE = 'kubernetes.io/tls';
/** Data key of the certificate (PEM) in a key Secret. */
export const KEY_CERT_FIELD = 'tls.crt';
/** Data key of the private key (PEM) in a key Secret. */
export const KEY_PRIVATE_FIELD = 'tls.key';

/** `metadata.generateName` of the key Secrets Sigil makes. */
export const KEY_NAME_PREFIX = 'sigil-sealing-key-';
/** Annotation on a key Secret Sigil made: when it was made (ISO 8601). */
export const CREATED_AT_ANNOTATION = 'sigil.dev/created-at';
