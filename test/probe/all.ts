/**
 * probe:all — every probe in turn (fuzz, subscriber, crash, overload, flood), each with its own `wisp up`.
 * `--duration <s>` applies to each (defaults: each probe's own). Exits 1 when any invariant broke.
 */
import { isMain, parseProbeArgs, runAsScript } from './lib/cli.js';
import { formatReport, type ProbeReport, summaryTable } from './lib/report.js';
import { probeCrash } from './crash.js';
import { probeFlood } from './flood.js';
import { probeFuzz } from './fuzz.js';
import { probeOverload } from './overload.js';
import { probeSubscriber } from './subscriber.js';

export const PROBES: Record<string, (durationS: number | undefined) => Promise<ProbeReport>> = {
  fuzz: (d) => probeFuzz({ durationS: d ?? 20 }),
  subscriber: (d) => probeSubscriber({ durationS: d ?? 20 }),
  crash: (d) => probeCrash({ durationS: d ?? 20 }),
  overload: (d) => probeOverload({ durationS: d ?? 20 }),
  flood: (d) => probeFlood({ durationS: d ?? 30 }),
};

if (isMain(import.meta.url)) {
  const explicit = process.argv.includes('--duration');
  const args = parseProbeArgs(process.argv.slice(2), { durationS: 20 });
  await runAsScript(async () => {
    const reports: ProbeReport[] = [];
    for (const [name, run] of Object.entries(PROBES)) {
      console.log(`-- running probe:${name} --`);
      const r = await run(explicit ? args.durationS : undefined);
      console.log(formatReport(r));
      console.log('');
      reports.push(r);
    }
    console.log('== summary ==');
    for (const r of reports) {
      const bad = r.invariants.filter((i) => !i.ok);
      console.log(`  probe:${r.probe}: ${bad.length === 0 ? 'all invariants held' : `FAILED ${bad.map((i) => i.name).join('; ')}`}`);
    }
    console.log('');
    console.log(summaryTable(reports));
    console.log('');
    return reports;
  }, { printed: true });
}
