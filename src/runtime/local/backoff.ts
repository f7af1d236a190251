/** Restart back-off of one replica: initialMs doubling to maxMs, reset after it stayed ready for resetAfterMs. Pure. */
export interface BackoffConfig {
  initialMs: number;
  maxMs: number;
  resetAfterMs: number;
}

export interface BackoffState {
  /** Restarts since the last reset. */
  attempt: number;
}

export function restartDelay(cfg: BackoffConfig, state: BackoffState): number {
  const exp = Math.min(state.attempt, 52);
  return Math.min(cfg.maxMs, cfg.initialMs * 2 ** exp);
}

/**
 * Decides the wait before restarting a replica that exited at `now`.
 * `readySince` is when the exited process became ready (undefined if it never did).
 */
export function onExit(cfg: BackoffConfig, state: BackoffState, now: number, readySince: number | undefined): { delayMs: number; next: BackoffState } {
  const base = readySince !== undefined && now - readySince >= cfg.resetAfterMs ? { attempt: 0 } : state;
  return { delayMs: restartDelay(cfg, base), next: { attempt: base.attempt + 1 } };
}
