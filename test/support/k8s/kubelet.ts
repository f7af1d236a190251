/**
 * The test kubelet: TEST INFRASTRUCTURE, NOT PART OF WISP.
 *
 * No container runtime runs on the test machines, so this plays the kubelet's part against a real kube-apiserver,
 * through the real API only (@kubernetes/client-node): it registers a Node and keeps its Lease fresh, binds
 * unscheduled Pods to it (there is no scheduler), runs each container's command (or the `images` map's entry for
 * an image) as a local process with the Pod's env, in a network namespace per Pod with its own IP (or a loopback
 * address, see netns.ts), probes, restarts with crash-loop back-off, and reports Pod status through `pods/status`
 * as the real kubelet does; graceful deletion ends with the final delete (grace 0).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoordinationV1Api, CoreV1Api, KubeConfig, VersionApi, Watch, type V1Pod } from '@kubernetes/client-node';
import { systemClock, type Clock } from '../../../src/clock.js';
import type { Backoff } from './kubelet-container.js';
import { errorText, NodeHeartbeat, plain, statusCode } from './kubelet-node.js';
import { PodWorker, type KubeletPodInfo } from './kubelet-pod.js';
import type { ImageEntry } from './kubelet-spec.js';
import { createNodeNetwork, type NetworkMode, type NodeNetwork } from './netns.js';

export type { ImageEntry } from './kubelet-spec.js';
export type { KubeletPodInfo } from './kubelet-pod.js';
export type { ContainerInfo } from './kubelet-container.js';

export interface KubeletOptions {
  kubeconfigPath: string;
  /** Default 'wisp-test-node'. */
  nodeName?: string;
  /** image → the process it stands for, so plain Knative YAML (only `image:`) runs. Matched exactly, then without tag/digest. */
  images?: Record<string, ImageEntry>;
  /** Crash-loop (and image-pull) back-off: initial delay doubling up to max. Default 1 s → 20 s (the real kubelet: 10 s → 5 min). */
  backoff?: Backoff;
  log?: (line: string) => void;
  /** 'auto' (default): netns when root with iproute2, else loopback. */
  network?: 'auto' | NetworkMode;
  /** Only Pods of these namespaces are bound and run (default: all), so parallel tests on one API server keep apart. */
  namespaces?: readonly string[];
  /** Node status + Lease renewal period. Default 10 s, as the real kubelet. */
  heartbeatMs?: number;
  /** Probe periods longer than this are shortened to it (periodSeconds is at least 1 s in the API). Default: as written. */
  probeMaxPeriodMs?: number;
  /** Where container logs go (kept after stop). Default: a temporary directory removed by stop(). */
  logDir?: string;
  clock?: Clock;
}

export interface Kubelet {
  readonly nodeName: string;
  /** 'netns' or 'loopback', the Pod CIDR, and the host's address as Pods reach it (also the Node's InternalIP). */
  readonly network: { mode: NetworkMode; podCIDR: string; hostIP: string };
  /** What runs now, per Pod bound to this kubelet. */
  pods(): KubeletPodInfo[];
  /** A container's stdout+stderr (the current instance, or the one before with `previous`); '' when none. */
  logs(namespace: string, pod: string, container: string, opts?: { previous?: boolean }): Promise<string>;
  /**
   * Kills every process it started and removes every network namespace. The Node and its Pods stay in the API, as
   * after a kubelet crash (the Node turns NotReady), unless `deleteNode`: then the Node goes (its Lease with it, by
   * ownerReference) and Kubernetes' pod GC removes the Pods bound to it.
   */
  stop(opts?: { deleteNode?: boolean }): Promise<void>;
}

const DEFAULT_BACKOFF: Backoff = { initialMs: 1_000, maxMs: 20_000 };
const STOP_GRACE_MS = 500;

function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ']) {
    const v = process.env[k];
    if (v !== undefined) env[k] = v;
  }
  env.PATH ??= '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  return env;
}

async function kubeletVersion(kc: KubeConfig): Promise<string> {
  try {
    const v = await kc.makeApiClient(VersionApi).getCode(undefined, plain());
    if (/^v[1-9]\d*\.\d+\.\d+/.test(v.gitVersion)) return v.gitVersion;
    return `v${v.major}.${v.minor.replace(/\D/g, '')}.0-wisp-test`;
  } catch {
    return 'v1.0.0-wisp-test';
  }
}

export async function startKubelet(opts: KubeletOptions): Promise<Kubelet> {
  const nodeName = opts.nodeName ?? 'wisp-test-node';
  const log = opts.log ?? (() => {});
  const clock = opts.clock ?? systemClock;
  const backoff = opts.backoff ?? DEFAULT_BACKOFF;
  const kc = new KubeConfig();
  kc.loadFromFile(opts.kubeconfigPath);
  const core = kc.makeApiClient(CoreV1Api);
  const coordination = kc.makeApiClient(CoordinationV1Api);
  const namespaces = opts.namespaces ? new Set(opts.namespaces) : undefined;
  const logRoot = opts.logDir ?? (await mkdtemp(join(tmpdir(), `wisp-kubelet-${nodeName}-`)));

  const network: NodeNetwork = await createNodeNetwork({ mode: opts.network ?? 'auto', log });
  const heartbeat = new NodeHeartbeat({
    core,
    coordination,
    nodeName,
    hostIP: network.hostIP,
    podCIDR: network.podCIDR,
    kubeletVersion: await kubeletVersion(kc),
    clock,
    heartbeatMs: opts.heartbeatMs ?? 10_000,
    log,
  });
  try {
    await heartbeat.register();
  } catch (err) {
    await network.close();
    throw err;
  }
  heartbeat.start();

  const workers = new Map<string, PodWorker>();
  const binding = new Set<string>();
  const env = baseEnv();
  let stopped = false;

  const inScope = (pod: V1Pod): boolean => namespaces === undefined || namespaces.has(pod.metadata?.namespace ?? '');

  async function bind(pod: V1Pod): Promise<void> {
    const uid = pod.metadata?.uid ?? '';
    const name = pod.metadata?.name ?? '';
    const namespace = pod.metadata?.namespace ?? 'default';
    if (binding.has(uid)) return;
    binding.add(uid);
    try {
      await core.createNamespacedPodBinding(
        { name, namespace, body: { apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace, uid }, target: { apiVersion: 'v1', kind: 'Node', name: nodeName } } },
        plain(),
      );
      log(`test kubelet: bound pod ${namespace}/${name} to ${nodeName}`);
    } catch (err) {
      // 409: bound by someone else meanwhile; 404: gone. Anything else: the next list or event tries again.
      if (statusCode(err) !== 409 && statusCode(err) !== 404) log(`test kubelet: bind ${namespace}/${name}: ${errorText(err)}`);
    } finally {
      binding.delete(uid);
    }
  }

  async function deleteNow(pod: V1Pod): Promise<void> {
    const name = pod.metadata?.name ?? '';
    const namespace = pod.metadata?.namespace ?? 'default';
    try {
      await core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0, body: { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata?.uid ?? '' } } }, plain());
    } catch (err) {
      if (statusCode(err) !== 404 && statusCode(err) !== 409) log(`test kubelet: final delete of ${namespace}/${name}: ${errorText(err)}`);
    }
  }

  function onPod(pod: V1Pod): void {
    if (stopped || !inScope(pod)) return;
    const uid = pod.metadata?.uid;
    if (!uid) return;
    const assigned = pod.spec?.nodeName;
    if (!assigned) {
      if (!pod.metadata?.deletionTimestamp && (pod.spec?.schedulingGates?.length ?? 0) === 0) void bind(pod);
      return;
    }
    if (assigned !== nodeName) return;
    const w = workers.get(uid);
    if (w) return w.update(pod);
    const phase = pod.status?.phase;
    if (pod.metadata?.deletionTimestamp) {
      // Nothing of it runs here (it ran under a kubelet that is gone): finish the deletion.
      void deleteNow(pod);
      return;
    }
    if (phase === 'Succeeded' || phase === 'Failed') return;
    const worker = new PodWorker({
      pod,
      nodeName,
      core,
      network,
      images: opts.images ?? {},
      clock,
      backoff,
      ...(opts.probeMaxPeriodMs !== undefined ? { probeMaxPeriodMs: opts.probeMaxPeriodMs } : {}),
      logRoot,
      baseEnv: env,
      log,
      onDone: (id) => {
        if (workers.get(id) === worker) workers.delete(id);
      },
    });
    workers.set(uid, worker);
    void worker.start().catch((err: unknown) => log(`test kubelet: pod ${worker.key}: ${errorText(err)}`));
  }

  function onPodGone(uid: string): void {
    workers.get(uid)?.gone();
  }

  /** A full list: every Pod in it is synced; a worker whose Pod is not in it lost its Pod while we were not watching. */
  function resync(pods: readonly V1Pod[]): void {
    const seen = new Set<string>();
    for (const p of pods) {
      if (p.metadata?.uid) seen.add(p.metadata.uid);
      onPod(p);
    }
    for (const [uid, w] of workers) {
      if (!seen.has(uid) && (namespaces === undefined || namespaces.has(w.namespace))) onPodGone(uid);
    }
  }

  const watch = new Watch(kc);
  let abort: AbortController | undefined;
  let wake: (() => void) | undefined;

  /** Every Pod (of the namespaces in scope: filtered here, the watch covers all namespaces too). */
  async function list(): Promise<{ items: V1Pod[]; resourceVersion: string }> {
    const l = await core.listPodForAllNamespaces({}, plain());
    return { items: l.items.filter(inScope), resourceVersion: l.metadata?.resourceVersion ?? '' };
  }

  /** One watch from `rv`; resolves when it ends: `gone` (410: list again), `error`, or a plain close. */
  function watchOnce(rv: string, onRv: (rv: string) => void): Promise<{ gone: boolean; error?: unknown }> {
    return new Promise((resolve) => {
      let gone = false;
      watch
        .watch(
          '/api/v1/pods',
          { resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds: 240 },
          (type: string, obj: unknown) => {
            const o = obj as V1Pod & { code?: number };
            if (type === 'ERROR') {
              if (o.code === 410) gone = true;
              return;
            }
            const objRv = o.metadata?.resourceVersion;
            if (objRv) onRv(objRv);
            if (type === 'BOOKMARK') return;
            try {
              if (type === 'DELETED') {
                if (o.metadata?.uid) onPodGone(o.metadata.uid);
              } else onPod(o);
            } catch (err) {
              log(`test kubelet: pod event ${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}: ${errorText(err)}`);
            }
          },
          (err: unknown) => {
            abort = undefined;
            if (statusCode(err) === 410) gone = true;
            resolve(err && !gone ? { gone, error: err } : { gone });
          },
        )
        .then(
          (ac) => {
            abort = ac;
            if (stopped) ac.abort();
          },
          (err: unknown) => resolve({ gone: false, error: err }),
        );
    });
  }

  function pause(ms: number): Promise<void> {
    return new Promise((r) => {
      const t = clock.setTimeout(() => {
        wake = undefined;
        r();
      }, ms);
      wake = () => {
        t.cancel();
        wake = undefined;
        r();
      };
    });
  }

  /** List, then watch from the list's resourceVersion; after an error or 410, back off and list again. */
  async function loop(): Promise<void> {
    let rv = '';
    let failures = 0;
    while (!stopped) {
      try {
        if (!rv) {
          const l = await list();
          if (stopped) return;
          resync(l.items);
          rv = l.resourceVersion;
          if (failures > 0) log('test kubelet: API reachable again, pods listed');
          failures = 0;
        }
        const r = await watchOnce(rv, (v) => (rv = v));
        if (stopped) return;
        if (r.gone) {
          rv = '';
        } else if (r.error !== undefined && (r.error as { name?: unknown }).name !== 'TimeoutError') {
          throw r.error;
        }
      } catch (err) {
        if (stopped) return;
        rv = '';
        failures++;
        const delay = Math.min(5_000, 100 * 2 ** Math.min(failures, 6));
        if (failures === 1 || failures % 10 === 0) log(`test kubelet: pod list/watch failed (${failures}x, retry in ${delay} ms): ${errorText(err)}`);
        await pause(delay);
      }
    }
  }
  const looping = loop();

  const onExit = (): void => {
    for (const w of workers.values()) w.killNow();
  };
  process.on('exit', onExit);

  return {
    nodeName,
    network: { mode: network.mode, podCIDR: network.podCIDR, hostIP: network.hostIP },
    pods: () => [...workers.values()].map((w) => w.info()),
    async logs(namespace, pod, container, o = {}) {
      const w = [...workers.values()].reverse().find((x) => x.namespace === namespace && x.name === pod);
      const file = w?.logFile(container, o.previous ? 1 : 0);
      if (!file) return '';
      try {
        return await readFile(file, 'utf8');
      } catch {
        return '';
      }
    },
    async stop(o = {}) {
      if (stopped) return;
      stopped = true;
      abort?.abort();
      wake?.();
      heartbeat.stop();
      await Promise.all([...workers.values()].map((w) => w.shutdown(STOP_GRACE_MS)));
      workers.clear();
      await network.close();
      process.off('exit', onExit);
      await looping.catch(() => {});
      if (o.deleteNode) {
        try {
          await core.deleteNode({ name: nodeName }, plain());
        } catch (err) {
          if (statusCode(err) !== 404) log(`test kubelet: delete node ${nodeName}: ${errorText(err)}`);
        }
      }
      if (!opts.logDir) await rm(logRoot, { recursive: true, force: true });
      log(`test kubelet: ${nodeName} stopped`);
    },
  };
}
