import { apiVersionOf, KINDS } from './kinds.js';

/** `Service (serving.knative.dev/v1), ConfigMap (v1), ...`: the kinds users may apply. */
export function supportedKindsText(): string {
  return KINDS.filter((k) => !k.readOnly)
    .map((k) => `${k.kind} (${apiVersionOf(k)})`)
    .join(', ');
}
