/**
 * Pod networking for the test kubelet (test infrastructure, not part of Wisp).
 *
 * One kubelet claims one subnet id X (0..249), machine-wide, through an exclusive claim file, so kubelets in
 * parallel test workers never share addresses. Two modes:
 *
 * - `netns` (root and iproute2): a bridge `wispbrX` holding 10.244.X.1/24 on the host; each Pod gets a network
 *   namespace `wisp-X-N` with `lo` up and `eth0` = 10.244.X.N/24 (the pod end of a veth whose host end is on the
 *   bridge), default route via 10.244.X.1. The host reaches every podIP:port; Pods reach one another and every
 *   address of the host (10.244.X.1, eth0's address, ...) but not the host's 127.0.0.1, which is their own
 *   loopback. Processes run through `ip netns exec`.
 * - `loopback` (fallback): Pod N gets 127.244.X.N (all of 127/8 is local on Linux). Processes share the host's
 *   network and must bind the address handed to them as env `POD_IP` and `HOST`.
 *
 * A claim left by a dead process (a test worker killed mid-run) is reclaimed: its processes are killed (found by
 * the `WISP_TEST_KUBELET_CLAIM` marker in their environment), its namespaces and bridge removed.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, readdir, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { isAlive } from '../../../src/runtime/local/proc.js';

export type NetworkMode = 'netns' | 'loopback';

/** Env var every process of a claim carries, so a later run can find and kill what a dead kubelet left behind. */
export const CLAIM_ENV = 'WISP_TEST_KUBELET_CLAIM';

const MAX_SUBNETS = 250;
const FIRST_HOST = 2;
const LAST_HOST = 254;

export interface PodNetwork {
  readonly ip: string;
  /** Network namespace name (netns mode only). */
  readonly netns?: string;
  /** Env the processes get from the network (loopback mode: POD_IP and HOST). */
  readonly env: Readonly<Record<string, string>>;
  /** The argv that runs `file args` inside this Pod's network. */
  wrap(file: string, args: readonly string[]): { file: string; args: string[] };
}

export interface NodeNetwork {
  readonly mode: NetworkMode;
  readonly subnetId: number;
  /** 10.244.X.0/24 (netns) or 127.244.X.0/24 (loopback). */
  readonly podCIDR: string;
  /** The host's address as Pods see it: the bridge (netns) or 127.0.0.1 (loopback). Used as the Node's InternalIP. */
  readonly hostIP: string;
  /** Marker value put in every process's env as CLAIM_ENV. */
  readonly claim: string;
  /** Creates the network of one Pod. */
  setUp(podKey: string): Promise<PodNetwork>;
  /** Kills whatever still runs in the Pod's network and removes it; idempotent. */
  tearDown(net: PodNetwork): Promise<void>;
  /** Tears down every Pod network and the node's own (bridge, claim). */
  close(): Promise<void>;
}

export interface NodeNetworkOptions {
  mode?: 'auto' | NetworkMode;
  log?: (line: string) => void;
}

interface IpResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: readonly string[], timeoutMs = 10_000): Promise<IpResult> {
  return new Promise((resolve) => {
    execFile(file, [...args], { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr: stderr || (err && code !== 0 ? err.message : '') });
    });
  });
}

/** The `ip` binary, by absolute path: a container's env may carry a PATH without /usr/sbin. */
const ipBinary = ((): string => {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin', '/usr/bin', '/bin']) {
    if (dir && existsSync(join(dir, 'ip'))) return join(dir, 'ip');
  }
  return 'ip';
})();

async function ip(args: readonly string[]): Promise<IpResult> {
  return run(ipBinary, args);
}

async function ipOrThrow(args: readonly string[]): Promise<void> {
  const r = await ip(args);
  if (r.code !== 0) throw new Error(`ip ${args.join(' ')}: exit ${r.code}: ${r.stderr.trim()}`);
}

/** Whether this process can create network namespaces: root and a working `ip netns`. */
export async function netnsAvailable(): Promise<boolean> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return false;
  const r = await ip(['netns', 'list']);
  return r.code === 0;
}

function claimDir(): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  return uid === 0 ? '/run/wisp-test-kubelet' : join(tmpdir(), `wisp-test-kubelet-${uid}`);
}

/** Pids whose environment carries CLAIM_ENV=<claim>. */
async function pidsWithClaim(claim: string): Promise<number[]> {
  const marker = `${CLAIM_ENV}=${claim}`;
  const out: number[] = [];
  let entries: string[] = [];
  try {
    entries = await readdir('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const env = await readFile(`/proc/${e}/environ`, 'latin1');
      if (env.split('\0').includes(marker)) out.push(Number(e));
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

function killAll(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

async function netnsNames(): Promise<string[]> {
  const r = await ip(['netns', 'list']);
  if (r.code !== 0) return [];
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n.length > 0);
}

async function removeNetns(name: string): Promise<void> {
  const pids = await ip(['netns', 'pids', name]);
  if (pids.code === 0) killAll(pids.stdout.split(/\s+/).filter((p) => /^\d+$/.test(p)).map(Number));
  await ip(['netns', 'del', name]);
}

/** Removes what subnet X's previous owner left: processes, namespaces, bridge. */
async function scrubSubnet(x: number, staleClaim: string | undefined): Promise<void> {
  if (staleClaim) killAll(await pidsWithClaim(staleClaim));
  if (await netnsAvailable()) {
    for (const ns of await netnsNames()) if (ns.startsWith(`wisp-${x}-`)) await removeNetns(ns);
    await ip(['link', 'del', `wispbr${x}`]);
  }
}

/** Owner pid and claim of a claim file's content `<pid> <claim>`. */
function parseClaim(content: string): { pid: number; claim: string | undefined } {
  const [pidText, claim] = content.trim().split(' ');
  return { pid: Number(pidText), claim };
}

/** Reclaims the claim file `file` (subnet x) when its owner is dead; true when it is free now. */
async function reclaimIfDead(file: string, x: number, log: (l: string) => void): Promise<boolean> {
  let content: string;
  try {
    content = await readFile(file, 'utf8');
  } catch {
    return true; // vanished meanwhile
  }
  const { pid, claim } = parseClaim(content);
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) return false;
  log(`test kubelet: reclaiming pod subnet ${x} from dead process ${pid}`);
  await scrubSubnet(x, claim);
  try {
    if ((await readFile(file, 'utf8')) === content) await unlink(file);
  } catch {
    // someone else reclaimed it first
  }
  return true;
}

/**
 * Claims a free subnet id: an exclusive claim file `<dir>/<X>.claim` holding `<pid> <claim>`. First every claim
 * of a dead process is reclaimed (its processes killed, its namespaces removed), so nothing of a killed run lingers.
 */
async function claimSubnet(log: (l: string) => void): Promise<{ x: number; claim: string; file: string }> {
  const dir = claimDir();
  await mkdir(dir, { recursive: true });
  for (const f of await readdir(dir)) {
    const m = /^(\d+)\.claim$/.exec(f);
    if (m) await reclaimIfDead(join(dir, f), Number(m[1]), log);
  }
  for (let x = 0; x < MAX_SUBNETS; x++) {
    const file = join(dir, `${x}.claim`);
    const claim = `${x}-${process.pid}-${randomBytes(4).toString('hex')}`;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fh = await open(file, 'wx');
        await fh.writeFile(`${process.pid} ${claim}\n`);
        await fh.close();
        await scrubSubnet(x, undefined);
        return { x, claim, file };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      if (!(await reclaimIfDead(file, x, log))) break;
    }
  }
  throw new Error(`test kubelet: no free pod subnet in ${dir} (all ${MAX_SUBNETS} claimed by live processes)`);
}

/** Claims a subnet and prepares the node's network (the bridge in netns mode). */
export async function createNodeNetwork(opts: NodeNetworkOptions = {}): Promise<NodeNetwork> {
  const log = opts.log ?? (() => {});
  const wanted = opts.mode ?? 'auto';
  const canNetns = await netnsAvailable();
  if (wanted === 'netns' && !canNetns) throw new Error('test kubelet: network mode netns needs root and iproute2 (`ip netns list` failed)');
  const mode: NetworkMode = wanted === 'loopback' ? 'loopback' : canNetns ? 'netns' : 'loopback';
  const { x, claim, file } = await claimSubnet(log);
  const bridge = `wispbr${x}`;
  const prefix = mode === 'netns' ? `10.244.${x}` : `127.244.${x}`;
  const hostIP = mode === 'netns' ? `${prefix}.1` : '127.0.0.1';
  if (mode === 'netns') {
    try {
      await ipOrThrow(['link', 'add', bridge, 'type', 'bridge']);
      await ipOrThrow(['addr', 'add', `${hostIP}/24`, 'dev', bridge]);
      await ipOrThrow(['link', 'set', bridge, 'up']);
    } catch (err) {
      await ip(['link', 'del', bridge]);
      await unlink(file).catch(() => {});
      throw err;
    }
  }
  const used = new Set<number>();
  const live = new Set<PodNetwork>();
  let next = FIRST_HOST;
  let closed = false;

  function allocate(): number {
    // Round-robin, so an address freed a moment ago is not handed out again at once.
    for (let i = 0; i <= LAST_HOST - FIRST_HOST; i++) {
      const n = next;
      next = next >= LAST_HOST ? FIRST_HOST : next + 1;
      if (!used.has(n)) {
        used.add(n);
        return n;
      }
    }
    throw new Error(`test kubelet: pod subnet ${prefix}.0/24 is full`);
  }

  const hostOf = new Map<PodNetwork, number>();

  async function setUp(podKey: string): Promise<PodNetwork> {
    if (closed) throw new Error('test kubelet: network closed');
    const n = allocate();
    const podIP = `${prefix}.${n}`;
    if (mode === 'loopback') {
      const net: PodNetwork = {
        ip: podIP,
        env: { POD_IP: podIP, HOST: podIP },
        wrap: (f, a) => ({ file: f, args: [...a] }),
      };
      live.add(net);
      hostOf.set(net, n);
      return net;
    }
    const ns = `wisp-${x}-${n}`;
    const veth = `wk${x}p${n}`;
    try {
      await removeNetns(ns); // a leftover of this very name would make `add` fail
      await ip(['link', 'del', veth]);
      await ipOrThrow(['netns', 'add', ns]);
      await ipOrThrow(['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      await ipOrThrow(['link', 'set', veth, 'master', bridge, 'up']);
      await ipOrThrow(['-n', ns, 'addr', 'add', `${podIP}/24`, 'dev', 'eth0']);
      await ipOrThrow(['-n', ns, 'link', 'set', 'eth0', 'up']);
      await ipOrThrow(['-n', ns, 'link', 'set', 'lo', 'up']);
      await ipOrThrow(['-n', ns, 'route', 'add', 'default', 'via', hostIP]);
    } catch (err) {
      await ip(['link', 'del', veth]);
      await removeNetns(ns);
      used.delete(n);
      throw new Error(`test kubelet: network for pod ${podKey}: ${(err as Error).message}`);
    }
    const net: PodNetwork = {
      ip: podIP,
      netns: ns,
      env: {},
      wrap: (f, a) => ({ file: ipBinary, args: ['netns', 'exec', ns, f, ...a] }),
    };
    live.add(net);
    hostOf.set(net, n);
    return net;
  }

  async function tearDown(net: PodNetwork): Promise<void> {
    if (!live.delete(net)) return;
    const n = hostOf.get(net);
    hostOf.delete(net);
    if (net.netns) {
      await ip(['link', 'del', `wk${x}p${n ?? 0}`]);
      await removeNetns(net.netns);
    }
    if (n !== undefined) used.delete(n);
  }

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    for (const net of [...live]) await tearDown(net);
    killAll(await pidsWithClaim(claim));
    if (mode === 'netns') await ip(['link', 'del', bridge]);
    await unlink(file).catch(() => {});
  }

  log(`test kubelet: network mode ${mode}, pod CIDR ${prefix}.0/24, host ${hostIP}`);
  return { mode, subnetId: x, podCIDR: `${prefix}.0/24`, hostIP, claim, setUp, tearDown, close };
}
