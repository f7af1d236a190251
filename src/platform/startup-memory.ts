/**
 * Start-up's memory given back once `wisp up` has settled: one memory-reducing full GC, a few seconds after the
 * platform is up (manifests applied, reconcilers idle).
 *
 * Why (measured with `npm run bench:rss`, quickstart, Node 26, no flags): loading and starting Wisp allocates tens
 * of MB of objects that survive their first scavenges (module code, compiled schemas, route tables), and V8 grows
 * the young generation for that, up to its maximum (2 × 16 MB semi-spaces here). Idle, nothing collects it again:
 * ~19 MB of new space stayed committed and touched, and the old generation kept start-up's garbage. V8 shrinks the
 * young generation only in a memory-reducing GC (`ShouldReduceMemory`), which a regular or a forced major GC is
 * not (tried: no RSS change). V8's "last resort" GC is one: the idle process went from ~110 to ~90 MB VmRSS.
 *
 * Nothing else changes: the heap's limits and the semi-space maximum stay V8's defaults, so under load the young
 * generation grows again exactly as before (no throughput cost, unlike `--max-semi-space-size`, which a process
 * cannot set on itself after start and which would make every scavenge under load more frequent). The cost is one
 * main-thread pause of some tens of ms at idle start-up (logged at debug level) and, as the GC flushes unused
 * bytecode, a recompile of a function the first time it runs again.
 *
 * How: Node gives no API for a memory-reducing GC; the `gc` function of `--expose-gc` takes
 * `{ flavor: 'last-resort' }`. The flag is set for the moment a fresh vm context is made (only new contexts get
 * `gc`, so Wisp's own global scope never sees one) and unset right after; the same technique as Jest's leak
 * detector.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** After `wisp up` is up, the delay before the GC: past the quickstart's replica spawns and first probes. */
export const STARTUP_GC_DELAY_MS = 5_000;

type GcFunction = (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

export interface ReleasedMemory {
  /** Heap used before and after the GC, bytes. */
  heapUsedBefore: number;
  heapUsedAfter: number;
  /** The main-thread pause, ms. */
  pauseMs: number;
}

/** One memory-reducing full GC (see above). Synchronous: returns when the heap has shrunk. */
export function releaseStartupMemory(): ReleasedMemory {
  setFlagsFromString('--expose-gc');
  let gc: GcFunction;
  try {
    gc = runInNewContext('gc') as GcFunction;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
  const heapUsedBefore = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  const pauseMs = performance.now() - t0;
  return { heapUsedBefore, heapUsedAfter: process.memoryUsage().heapUsed, pauseMs };
}
