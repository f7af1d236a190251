/**
 * Scale benchmark: how Wisp's cost grows with the amount of work, `npm run bench:scale`.
 *
 *  (a) Services: 10, 100, 1 000 Services at min-scale 0 (initial-scale 0, so no replica is spawned) applied in
 *      cumulative steps through `wisp apply` to one embedded `wisp up`: time until all are Ready, the wisp process's
 *      CPU, RSS and V8 heap, and the latency of `wisp get ksvc` (the CLI, a process start included) and of the control
 *      API list call it makes.
 *  (b) Triggers: one Memory Broker with 1, 10, 100, 1 000 Triggers (attribute, prefix and CESQL filters in turn),
 *      events matching one Trigger each ("selective") and every Trigger ("all match"): CPU of the wisp process per
 *      ingested event and delivered events/s, to a local subscriber (test/fixtures/bench-subscriber.js).
 *  (c) Queue: 10 000 requests sent at once to one Service at zero whose function listens only after a delay: memory
 *      the wisp process holds while they wait, and every response counted by status.
 *
 * Each part prints its curve and the per-item cost ratio between steps (1.0 = linear). A fresh `wisp up` per part,
 * on free ports in a temp state dir. Every process started is stopped at the end and on SIGINT/SIGTERM.
 *
 * Run: npm run bench:scale [-- --part a|b|c ...]   (default all parts; --part repeatable)
 *   WISP_BENCH_SCALE_SERVICES=10,100,1000   steps of (a)
 *   WISP_BENCH_SCALE_TRIGGERS=1,10,100,1000 steps of (b)
 *   WISP_BENCH_SCALE_REQUESTS=1000,4000,10000 burst sizes of (c)
 *   WISP_BENCH_SCALE_EVENTS=2000            events per selective phase of (b) (fewer from 1 000 Triggers; all-match ~4× as many deliveries)
 *   WISP_BENCH_START_DELAY_MS=4000          how long the function of (c) takes to listen
 *   WISP_BENCH_CPU_PROF=DIR                  a --cpu-prof of each wisp up into DIR
 */
import { cpus, loadavg } from 'node:os';
import { printServices, runServices } from './scale/services.js';
import { eventsFor, printTriggers, runTriggers } from './scale/triggers.js';
import { printQueue, runQueue } from './scale/queue.js';
import { CPU_PROF_DIR } from './scale/common.js';

const list = (name: string, fallback: number[]): number[] => {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const v = raw.split(',').map((x) => Number(x.trim()));
  if (v.some((x) => !Number.isInteger(x) || x <= 0)) throw new Error(`${name}=${raw}: want a comma list of positive integers`);
  return v;
};

function parts(argv: string[]): Set<string> {
  const out = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--part') {
      const p = argv[++i];
      if (p === undefined || !['a', 'b', 'c'].includes(p)) throw new Error(`--part ${p ?? ''}: want a, b or c`);
      out.add(p);
    } else throw new Error(`unknown argument ${argv[i]}: usage: bench:scale [-- --part a|b|c ...]`);
  }
  return out.size === 0 ? new Set(['a', 'b', 'c']) : out;
}

async function main(): Promise<void> {
  const want = parts(process.argv.slice(2));
  console.log(`scale bench: parts ${[...want].join(', ')}; ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}, node ${process.version}`);
  if (want.has('a')) {
    const steps = list('WISP_BENCH_SCALE_SERVICES', [10, 100, 1000]);
    console.log(`\n(a) Services at min-scale 0, cumulative steps ${steps.join(', ')}`);
    const res = await runServices(steps);
    console.log('');
    printServices(res);
  }
  if (want.has('b')) {
    const steps = list('WISP_BENCH_SCALE_TRIGGERS', [1, 10, 100, 1000]);
    const events = list('WISP_BENCH_SCALE_EVENTS', [2000])[0]!;
    console.log(
      `\n(b) one Memory Broker per variant, Triggers in cumulative steps ${steps.join(', ')}; selective phases ${steps.map((t) => eventsFor('sel', t, events)).join('/')} events, ` +
        `all-match phases ${steps.map((t) => eventsFor('all', t, events)).join('/')} events (closed loop, 16 at a time)`,
    );
    const rows = await runTriggers(steps, events);
    printTriggers(rows);
  }
  if (want.has('c')) {
    const steps = list('WISP_BENCH_SCALE_REQUESTS', [1000, 4000, 10000]);
    console.log(`\n(c) bursts of ${steps.join(', ')} requests at once (a connection each) to a Service at zero whose function listens after a delay`);
    const rows = await runQueue(steps);
    console.log('');
    printQueue(rows);
  }
  if (CPU_PROF_DIR) console.log(`\ncpu profiles of wisp up written to ${CPU_PROF_DIR}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exitCode = 1;
});
