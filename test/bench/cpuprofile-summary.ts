/**
 * A text flame-graph summary of a V8 `.cpuprofile` (what `node --cpu-prof` writes): the top frames by self time and
 * by total (inclusive) time, as a share of the non-idle samples. A frame is a function at a source position; a
 * recursive frame's total counts each sample once.
 *
 * Run: node dist/test/bench/cpuprofile-summary.js <file.cpuprofile> [top=15] [skip-ms=0]
 * (`skip-ms` leaves out the first milliseconds of the profile: the process's start and module loading).
 * (e.g. after `WISP_BENCH_ACTIVATOR_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" npm run bench:activator`).
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const IDLE = new Set(['(idle)']);

function frameKey(f: CallFrame): string {
  const name = f.functionName === '' ? '(anonymous)' : f.functionName;
  if (f.url === '') return name;
  const url = f.url.replace(/^file:\/\//, '');
  const nm = url.lastIndexOf('node_modules/');
  const dist = url.lastIndexOf('/dist/');
  const short = nm >= 0 ? url.slice(nm + 'node_modules/'.length) : dist >= 0 ? url.slice(dist + '/dist/'.length) : url;
  return `${name} ${short}:${f.lineNumber + 1}`;
}

function summarise(profile: CpuProfile, top: number, skipMs: number): string {
  const byId = new Map<number, ProfileNode>();
  for (const n of profile.nodes) byId.set(n.id, n);
  // Self time per node from the sample deltas (µs): each delta is the time up to its sample.
  const selfUs = new Map<number, number>();
  let at = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at < skipMs * 1000) continue;
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  }
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let busy = 0;
  const root = profile.nodes[0];
  if (root === undefined) return 'empty profile\n';
  // Iterative DFS computing inclusive time, crediting a key's total only at its outermost occurrence on a path.
  const inclusive = new Map<number, number>();
  const order: ProfileNode[] = [];
  const stack: ProfileNode[] = [root];
  while (stack.length > 0) {
    const n = stack.pop()!;
    order.push(n);
    for (const c of n.children ?? []) stack.push(byId.get(c)!);
  }
  for (let i = order.length - 1; i >= 0; i--) {
    const n = order[i]!;
    let t = selfUs.get(n.id) ?? 0;
    for (const c of n.children ?? []) t += inclusive.get(c) ?? 0;
    inclusive.set(n.id, t);
  }
  const walk: { node: ProfileNode; onPath: Set<string> }[] = [{ node: root, onPath: new Set() }];
  while (walk.length > 0) {
    const { node, onPath } = walk.pop()!;
    const key = frameKey(node.callFrame);
    const s = selfUs.get(node.id) ?? 0;
    if (!IDLE.has(node.callFrame.functionName)) busy += s;
    self.set(key, (self.get(key) ?? 0) + s);
    let path = onPath;
    if (!onPath.has(key)) {
      total.set(key, (total.get(key) ?? 0) + (inclusive.get(node.id) ?? 0));
      path = new Set(onPath).add(key);
    }
    for (const c of node.children ?? []) walk.push({ node: byId.get(c)!, onPath: path });
  }
  const pct = (us: number): string => `${((100 * us) / busy).toFixed(1).padStart(5)} %`;
  const rows = (m: Map<string, number>, skip: (k: string) => boolean): string =>
    [...m]
      .filter(([k]) => !skip(k))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => `  ${pct(us)}  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`)
      .join('\n');
  const structural = (k: string): boolean => k === '(root)' || k === '(idle)' || k === '(program)' || k.startsWith('(garbage');
  return (
    `non-idle samples: ${(busy / 1000).toFixed(0)} ms\n` +
    `top ${top} by self time:\n${rows(self, (k) => k === '(root)' || k === '(idle)')}\n` +
    `top ${top} by total time (JS frames):\n${rows(total, structural)}\n`
  );
}

const file = process.argv[2];
if (file === undefined) {
  console.error('usage: node dist/test/bench/cpuprofile-summary.js <file.cpuprofile> [top=15] [skip-ms=0]');
  process.exit(2);
}
process.stdout.write(summarise(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, Number(process.argv[3] ?? 15), Number(process.argv[4] ?? 0)));
