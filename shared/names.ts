/**
 * Names users see that both `seal` and the controller use (../shared/DESIGN.md fixes them).
 */

/** The controller's namespace unless configured otherwise. */
export const DEFAULT_CONTROLLER_NAMESPACE = 'sigil-system';
/** The ConfigMap, in the controller namespace, that publishes the newest sealing certificate for `seal`. */
export const CERT_CONFIGMAP = 'sigil-sealing-cert';
/** Its data key. */
export const CERT_CONFIGMAP_KEY = 'cert.pem';
