/**
 * A ContainerSource's `Deployed` state from its process's runtime status (pure): running once spawned and alive;
 * while it crash-loops, the runtime's failure (`ExitCode<N>`, `Signal<S>`, `WorkingDirNotFound`...) and its message.
 */
import type { RevisionRuntimeStatus } from '../../runtime/types.js';
import type { DeployState } from '../status.js';

/** Before the first spawn: on its way, not failed (Deployed Unknown). */
export const STARTING: DeployState = Object.freeze({ kind: 'pending', reason: 'Starting', message: 'The process is starting.' });

export function containerHealth(status: RevisionRuntimeStatus | undefined): DeployState {
  if (status?.failure) {
    const restarts = status.restarts > 0 ? ` (restarted ${status.restarts} time${status.restarts === 1 ? '' : 's'}, with back-off)` : '';
    return { kind: 'not-running', reason: status.failure.reason, message: `${status.failure.message}${restarts}` };
  }
  if ((status?.running ?? 0) > 0) return { kind: 'running' };
  return STARTING;
}
