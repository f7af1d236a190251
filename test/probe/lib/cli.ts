import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { Platform } from './platform.js';
import { failed, formatReport, type ProbeReport } from './report.js';

export interface ProbeArgs {
  durationS: number;
  /** Extra numeric flags a probe understands (e.g. --connections). */
  extra: Record<string, number>;
}

/** `--duration <s>` plus the probe's own numeric flags; exits 2 on misuse. */
export function parseProbeArgs(argv: string[], defaults: { durationS: number; extra?: Record<string, number> }): ProbeArgs {
  const extraNames = Object.keys(defaults.extra ?? {});
  const options: Record<string, { type: 'string' }> = { duration: { type: 'string' } };
  for (const n of extraNames) options[n] = { type: 'string' };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options, allowPositionals: false, strict: true }) as { values: Record<string, string | undefined> });
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\nflags: --duration <seconds>${extraNames.map((n) => ` --${n} <n>`).join('')}\n`);
    process.exit(2);
  }
  const num = (name: string, fallback: number): number => {
    const raw = values[name];
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0) {
      process.stderr.write(`--${name}: expected a positive number, got '${String(raw)}'\n`);
      process.exit(2);
    }
    return n;
  };
  const extra: Record<string, number> = {};
  for (const n of extraNames) extra[n] = num(n, defaults.extra?.[n] ?? 0);
  return { durationS: num('duration', defaults.durationS), extra };
}

/** True when this module is the script node was started with. */
export function isMain(metaUrl: string): boolean {
  const entry = process.argv[1];
  return entry !== undefined && pathToFileURL(entry).href === metaUrl;
}

/** Runs probes, prints each report, exits 1 when any invariant broke (2 on misuse, 3 when a probe itself failed). */
export async function runAsScript(run: () => Promise<ProbeReport[]>, opts: { printed?: boolean } = {}): Promise<void> {
  const onSignal = (signal: NodeJS.Signals): void => {
    void Promise.allSettled([...Platform.live].map((p) => p.cleanup())).then(() => {
      process.stderr.write(`interrupted by ${signal}: stopped every wisp up this probe started and removed its state dirs and Redis keys\n`);
      process.exit(130);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let reports: ProbeReport[];
  try {
    reports = await run();
  } catch (err) {
    process.stderr.write(`probe failed to run: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(3);
  }
  let broken = 0;
  for (const r of reports) {
    if (!opts.printed) {
      console.log(formatReport(r));
      console.log('');
    }
    broken += failed(r).length;
  }
  console.log(broken === 0 ? `all invariants held (${reports.length} probe${reports.length === 1 ? '' : 's'})` : `${broken} invariant(s) broken`);
  process.exit(broken === 0 ? 0 : 1);
}
