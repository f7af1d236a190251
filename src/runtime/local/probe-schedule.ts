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
 * - **Learned start.** A revision starts about as fast each time. Given its recent starts (probing start to
 *   ready: the fastest and the slowest of the last few, `expected`), probing turns dense from half the fastest to
 *   twice the slowest, with a step that spreads at most 150 probes over that window (within 1 ms and P). For a
 *   revision whose starts vary little the step is about 1 % of its start time, and so is the lag; a refused local
 *   connect is ~80 µs of CPU, so the window costs a few ms of CPU next to the ~100 ms a process spawn costs.
 *   Outside the window the ladder and then the period apply, as without history.
 *
 * Knative's queue-proxy makes the same trade with its "aggressive" 25 ms readiness probing while a pod starts.
 */
export interface ProbeScheduleConfig {
  /** The runtime's probe period (the ladder's ceiling and the step outside the learned window). */
  periodMs: number;
  /** The revision's recent starts (probing start to ready): fastest and slowest. Undefined before the first. */
  expected?: StartRange | undefined;
}

export interface StartRange {
  minMs: number;
  maxMs: number;
}

/** First rung of the ladder. */
export const PROBE_LADDER_FIRST_MS = 1;
/** Dense probing runs from WINDOW_FROM × expected to WINDOW_TO × expected. */
export const PROBE_WINDOW_FROM = 0.5;
export const PROBE_WINDOW_TO = 2;
/** Probes the dense window is spread over, at most. */
export const PROBE_WINDOW_PROBES = 150;
/** Starts remembered per revision for the window. */
export const START_HISTORY = 8;

/** Fastest and slowest of the recent starts; undefined for none. Pure. */
export function startRange(recentMs: readonly number[]): StartRange | undefined {
  const ok = recentMs.filter((x) => Number.isFinite(x) && x >= 0);
  if (ok.length === 0) return undefined;
  return { minMs: Math.min(...ok), maxMs: Math.max(...ok) };
}

/**
 * Milliseconds to wait before the next probe, `elapsedMs` after probing began, with `attempt` probes already done
 * (0 before the first). Always ≥ 1 and ≤ the period.
 */
export function nextProbeDelay(cfg: ProbeScheduleConfig, attempt: number, elapsedMs: number): number {
  const period = Math.max(PROBE_LADDER_FIRST_MS, cfg.periodMs);
  const ladder = Math.min(period, PROBE_LADDER_FIRST_MS * 2 ** Math.min(Math.max(0, attempt), 30));
  const e = cfg.expected;
  if (e === undefined || !Number.isFinite(e.minMs) || !Number.isFinite(e.maxMs) || e.maxMs <= 0) return ladder;
  const from = Math.max(0, Math.min(e.minMs, e.maxMs)) * PROBE_WINDOW_FROM;
  const to = e.maxMs * PROBE_WINDOW_TO;
  if (elapsedMs >= to) return ladder;
  const step = Math.min(period, Math.max(1, Math.round((to - from) / PROBE_WINDOW_PROBES)));
  if (elapsedMs >= from) return Math.min(ladder, step);
  // Before the window: do not overshoot its start.
  return Math.max(1, Math.min(ladder, Math.ceil(from - elapsedMs)));
}
