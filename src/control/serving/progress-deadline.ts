/** Knative's progress deadline for a Revision, from its annotation or the local default. Pure. */
import { parseGoDuration } from '../../../autoscaler/duration.js';

import { PROGRESS_DEADLINE_ANNOTATION } from '../../api/labels.js';

/** Per-revision annotation, as Knative (`serving.knative.dev/progress-deadline: "60s"`, a Go duration). */
export { PROGRESS_DEADLINE_ANNOTATION };

/**
 * The local default. Knative's is 600 s (config-deployment `progress-deadline`), sized for image pulls and
 * scheduling; a local process has neither, and a function that never listens on $PORT should be named in
 * seconds, not after ten minutes. A replica that gets ready later still clears the failure.
 */
export const DEFAULT_PROGRESS_DEADLINE_SECONDS = 30;

/** The deadline in seconds: the annotation when it is a positive Go duration (`45s`, `2m`), else the default. */
export function progressDeadlineSeconds(annotations: Readonly<Record<string, string>> | undefined): number {
  const raw = annotations?.[PROGRESS_DEADLINE_ANNOTATION];
  if (raw === undefined) return DEFAULT_PROGRESS_DEADLINE_SECONDS;
  // Validation (src/api) is where a bad value is refused; here one that slipped through falls back to the default.
  const ms = parseGoDuration(raw.trim());
  return ms !== undefined && ms > 0 ? ms / 1000 : DEFAULT_PROGRESS_DEADLINE_SECONDS;
}
