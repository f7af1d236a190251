/**
 * Part (a): Services at min-scale 0 applied in cumulative steps to one `wisp up`: how long until all are Ready, what
 * the process holds, and how long `wisp get ksvc` takes as the list grows.
 */
import { join } from 'node:path';
import { ROOT } from '../broker/wisp.js';
import { type WispUp, cliApply, cpuUs, fmt, heapUsedMiB, linearity, median, printTable, rssMiB, sleep, startWisp, untilReady } from './common.js';

const NS = 'default';
const LIST = `/apis/serving.knative.dev/v1/namespaces/${NS}/services`;
const FUNCTIONS = join(ROOT, 'test/fixtures/functions');

/** Revisions at zero from the start (Ready at zero, as Knative with allow-zero-initial-scale): no process is spawned. */
const ALLOW_ZERO = `apiVersion: v1
kind: ConfigMap
metadata: {name: config-autoscaler, namespace: knative-serving}
data:
  allow-zero-initial-scale: "true"
`;

export const serviceName = (i: number): string => `s${String(i).padStart(5, '0')}`;

function servicesYaml(from: number, to: number): string {
  const docs: string[] = [];
  for (let i = from; i < to; i++) {
    docs.push(`apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: ${serviceName(i)}, namespace: ${NS}}
spec:
  template:
    metadata:
      annotations: {autoscaling.knative.dev/min-scale: "0", autoscaling.knative.dev/initial-scale: "0"}
    spec:
      containers:
        - command: ["${process.execPath}", "hello.js"]
          workingDir: ${FUNCTIONS}
          env: [{name: GREETING, value: "service ${i}"}]
`);
  }
  return docs.join('---\n');
}

export interface ServiceStep {
  services: number;
  added: number;
  applyMs: number;
  readyMs: number;
  /** CPU of `wisp up` from the start of the apply until all were Ready, ms. */
  cpuMs: number;
  rssMiB: number;
  heapMiB: number;
  /** Median of the CLI's `wisp get ksvc` (a process start included), ms. */
  cliGetMs: number;
  /** Median of the list call the CLI makes (GET .../services), ms. */
  apiListMs: number;
  /** CPU of `wisp up` per list call, ms. */
  apiListCpuMs: number;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

async function measureGets(wisp: WispUp, services: number): Promise<{ cli: number; api: number; apiCpu: number }> {
  const api: number[] = [];
  const apiCpu: number[] = [];
  for (let k = 0; k < 5; k++) {
    const c0 = cpuUs(wisp.pid);
    const { ms, value } = await timed(async () => {
      const res = await wisp.fetch(LIST, { signal: AbortSignal.timeout(60_000) });
      return (await res.json()) as { items?: unknown[] };
    });
    apiCpu.push((cpuUs(wisp.pid) - c0) / 1000);
    if ((value.items?.length ?? 0) !== services) throw new Error(`list returned ${value.items?.length} services, want ${services}`);
    api.push(ms);
  }
  const cli: number[] = [];
  for (let k = 0; k < 3; k++) {
    const { ms, value } = await timed(() => wisp.cli(['get', 'ksvc'], { timeoutMs: 120_000 }));
    if (value.code !== 0) throw new Error(`wisp get ksvc failed (${value.code}): ${value.stderr}`);
    const rows = value.stdout.trim().split('\n').length - 1;
    if (rows !== services) throw new Error(`wisp get ksvc printed ${rows} rows, want ${services}`);
    cli.push(ms);
  }
  return { cli: median(cli), api: median(api), apiCpu: median(apiCpu) };
}

export async function runServices(steps: number[]): Promise<ServiceStep[]> {
  const wisp = await startWisp();
  const out: ServiceStep[] = [];
  try {
    await cliApply(wisp, ALLOW_ZERO);
    const idle = { rss: rssMiB(wisp.pid), heap: await heapUsedMiB(wisp) };
    console.log(`  wisp up idle (no Services): RSS ${fmt(idle.rss)} MiB, heap used ${fmt(idle.heap)} MiB`);
    let have = 0;
    for (const target of steps) {
      const added = target - have;
      const c0 = cpuUs(wisp.pid);
      const t0 = performance.now();
      await cliApply(wisp, servicesYaml(have, target));
      const applyMs = performance.now() - t0;
      await untilReady(wisp, LIST, target, { intervalMs: target >= 500 ? 250 : 50, timeoutMs: 600_000 });
      const readyMs = performance.now() - t0;
      const cpuMs = (cpuUs(wisp.pid) - c0) / 1000;
      have = target;
      await sleep(500);
      const rss = rssMiB(wisp.pid);
      const heap = await heapUsedMiB(wisp);
      const gets = await measureGets(wisp, target);
      const step: ServiceStep = { services: target, added, applyMs, readyMs, cpuMs, rssMiB: rss, heapMiB: heap, cliGetMs: gets.cli, apiListMs: gets.api, apiListCpuMs: gets.apiCpu };
      out.push(step);
      console.log(
        `  ${target} Services (+${added}): applied in ${fmt(applyMs, 0)} ms, all Ready after ${fmt(readyMs, 0)} ms, wisp CPU ${fmt(cpuMs, 0)} ms; ` +
          `RSS ${fmt(rss)} MiB, heap ${fmt(heap)} MiB; get ksvc ${fmt(gets.cli, 0)} ms (CLI), list ${fmt(gets.api, 1)} ms (API)`,
      );
    }
    const logged = wisp.output.split('\n').filter((l) => /error|warn/i.test(l));
    if (logged.length > 0) console.log(`  wisp up logged (warn and above, last 10):\n${logged.slice(-10).join('\n')}`);
  } finally {
    await wisp.cleanup();
  }
  return out;
}

export function printServices(steps: ServiceStep[]): void {
  const readyLin = linearity(steps.map((s) => ({ items: s.added, cost: s.readyMs })));
  const cpuLin = linearity(steps.map((s) => ({ items: s.added, cost: s.cpuMs })));
  const listLin = linearity(steps.map((s) => ({ items: s.services, cost: s.apiListMs })));
  printTable(
    ['Services', 'added', 'apply ms', 'all Ready ms', 'ms/added', 'ratio', 'wisp CPU ms/added', 'ratio', 'RSS MiB', 'heap MiB', 'get ksvc CLI ms', 'list API ms', 'list µs/item', 'ratio'],
    steps.map((s, i) => [
      String(s.services),
      String(s.added),
      fmt(s.applyMs, 0),
      fmt(s.readyMs, 0),
      fmt(s.readyMs / s.added, 2),
      `${fmt(readyLin[i]!.ratio, 2)} ${readyLin[i]!.flag}`,
      fmt(s.cpuMs / s.added, 2),
      `${fmt(cpuLin[i]!.ratio, 2)} ${cpuLin[i]!.flag}`,
      fmt(s.rssMiB),
      fmt(s.heapMiB),
      fmt(s.cliGetMs, 0),
      fmt(s.apiListMs, 1),
      fmt((s.apiListMs * 1000) / s.services, 1),
      `${fmt(listLin[i]!.ratio, 2)} ${listLin[i]!.flag}`,
    ]),
  );
  for (let i = 1; i < steps.length; i++) {
    const a = steps[i - 1]!;
    const b = steps[i]!;
    console.log(`  memory per Service between ${a.services} and ${b.services}: RSS ${fmt(((b.rssMiB - a.rssMiB) * 1024) / b.added, 1)} KiB, heap ${fmt(((b.heapMiB - a.heapMiB) * 1024) / b.added, 1)} KiB`);
  }
}
