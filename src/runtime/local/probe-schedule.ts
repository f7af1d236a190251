/**
 * When a starting replica is probed. Pure: the replica's probe loop asks for the next delay after each failed probe.
 *
 * A fixed period P adds P/2 on average (P at worst) between the replica listening and Wisp seeing it, and that lag
 * is most of what a scale-from-zero request waits beyond the replica's own start. Probing far more often all the
 * time would cost a connect every millisecond or two for the whole start of every replica. Two things keep the
 * lag at a few milliseconds for a bounded number of probes:
 *
 * - **Ladder.** Right after spawn the delays double from 1 ms up to the period (1, 2, 4, … P): a replica that is
 *   up at once (a small binary, a warm cache) is seen within a millisecond or two, for log2(P) extra probes.
 * - **Learned start.** A revision starts about as fast each time. Given the last start of the revision (probing
 *   start to ready, `expectedMs`), probing turns dense from half that time to twice it: a step of
 *   `expectedMs / 100` (within 1 ms and P), so the lag stays under about 1 % of the start time, and the window
 *   costs at most 150 probes (about 50 when the start is as expected: a refused local connect is ~80 µs of CPU,
 *   small next to the spawn itself). Outside the window the ladder and then the period apply, as without history.
 *
 * Knative's queue-proxy makes the same trade with its "aggressive" 25 ms readiness probing while a pod starts.
 */
export interface ProbeScheduleConfig {
  /** The runtime's probe period (the ladder's ceiling and the step outside the learned window). */
  periodMs: number;
  /** The revision's last start (probing start to ready), if one is known. */
  expectedMs?: number | undefined;
}

/** First rung of the ladder. */
export const PROBE_LADDER_FIRST_MS = 1;
/** Dense probing runs from WINDOW_FROM × expected to WINDOW_TO × expected. */
export const PROBE_WINDOW_FROM = 0.5;
export const PROBE_WINDOW_TO = 2;
/** The dense step as a share of the expected start. */
export const PROBE_DENSE_FRACTION = 0.01;

/**
 * Milliseconds to wait before the next probe, `elapsedMs` after probing began, with `attempt` probes already done
 * (0 before the first). Always ≥ 1 and ≤ the period.
 */
export function nextProbeDelay(cfg: ProbeScheduleConfig, attempt: number, elapsedMs: number): number {
  const period = Math.max(PROBE_LADDER_FIRST_MS, cfg.periodMs);
  const ladder = Math.min(period, PROBE_LADDER_FIRST_MS * 2 ** Math.min(Math.max(0, attempt), 30));
  const expected = cfg.expectedMs;
  if (expected === undefined || !Number.isFinite(expected) || expected <= 0) return ladder;
  const from = expected * PROBE_WINDOW_FROM;
  const to = expected * PROBE_WINDOW_TO;
  if (elapsedMs >= to) return ladder;
  const step = Math.min(period, Math.max(1, Math.round(expected * PROBE_DENSE_FRACTION)));
  if (elapsedMs >= from) return Math.min(ladder, step);
  // Before the window: do not overshoot its start.
  return Math.max(1, Math.min(ladder, Math.ceil(from - elapsedMs)));
}
