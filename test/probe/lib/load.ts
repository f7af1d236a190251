/** Load shapes for the probes: an open loop at a fixed rate (bounded in flight) and a closed loop of N workers. */

/** Calls `send(i)` `rate` times a second for `seconds` (or until `stop()`), at most `maxInFlight` at once; resolves when all settled. */
export async function openLoop(opts: { rate: number; seconds: number; maxInFlight?: number; stop?: () => boolean; send: (i: number) => Promise<void> }): Promise<number> {
  const maxInFlight = opts.maxInFlight ?? 256;
  const started = Date.now();
  const end = started + opts.seconds * 1000;
  const pending = new Set<Promise<void>>();
  let i = 0;
  while (Date.now() < end && !(opts.stop?.() ?? false)) {
    const due = started + (i * 1000) / opts.rate;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, Math.min(wait, 50)));
    if (Date.now() < due) continue;
    if (pending.size >= maxInFlight) {
      await Promise.race(pending);
      continue;
    }
    const p = opts.send(i++).finally(() => pending.delete(p));
    pending.add(p);
  }
  await Promise.all(pending);
  return i;
}

/** `workers` loops calling `send()` back to back for `seconds` (or until `stop()`). */
export async function closedLoop(opts: { workers: number; seconds: number; stop?: () => boolean; send: (worker: number) => Promise<void> }): Promise<void> {
  const end = Date.now() + opts.seconds * 1000;
  await Promise.all(
    Array.from({ length: opts.workers }, async (_, w) => {
      while (Date.now() < end && !(opts.stop?.() ?? false)) await opts.send(w);
    }),
  );
}
