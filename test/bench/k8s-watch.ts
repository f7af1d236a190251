/**
 * For `npm run bench:k8s`: the bench's own watch of one namespace's Deployments, ReplicaSets, Pods and EndpointSlices,
 * each event stamped with the time it arrived here (sub-millisecond), and the timeline of one scale from zero read
 * from those events. The objects' own timestamps (creationTimestamp, conditions' lastTransitionTime, containers'
 * startedAt) have 1 s resolution, too coarse for steps of a few ms; the watch sees each write as it is committed
 * (plus the delivery, the same for Wisp's own watches on this machine).
 */
import { KubeConfig, Watch, type V1Deployment, type V1EndpointSlice, type V1Pod, type V1ReplicaSet } from '@kubernetes/client-node';

export const nowMs = (): number => performance.timeOrigin + performance.now();

type Kind = 'deployment' | 'replicaset' | 'pod' | 'endpointslice';

export interface WatchEvent {
  at: number;
  kind: Kind;
  type: string;
  obj: V1Deployment | V1ReplicaSet | V1Pod | V1EndpointSlice;
}

const PATHS: Record<Kind, (ns: string) => string> = {
  deployment: (ns) => `/apis/apps/v1/namespaces/${ns}/deployments`,
  replicaset: (ns) => `/apis/apps/v1/namespaces/${ns}/replicasets`,
  pod: (ns) => `/api/v1/namespaces/${ns}/pods`,
  endpointslice: (ns) => `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`,
};

/** Watches the four kinds in `namespace` until close(); a watch that ends is resumed from its last resourceVersion. */
export class NamespaceRecorder {
  readonly events: WatchEvent[] = [];
  readonly #watch: Watch;
  readonly #aborts = new Set<AbortController>();
  #closed = false;
  readonly #loops: Promise<void>[];

  constructor(kubeconfigPath: string, readonly namespace: string) {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    this.#watch = new Watch(kc);
    this.#loops = (Object.keys(PATHS) as Kind[]).map((k) => this.#loop(k));
  }

  async #loop(kind: Kind): Promise<void> {
    let rv = '';
    while (!this.#closed) {
      const gone = await new Promise<boolean>((resolve) => {
        let is410 = false;
        this.#watch
          .watch(
            PATHS[kind](this.namespace),
            { allowWatchBookmarks: true, timeoutSeconds: 300, ...(rv ? { resourceVersion: rv } : {}) },
            (type: string, obj: unknown) => {
              const at = nowMs();
              const o = obj as WatchEvent['obj'] & { code?: number };
              if (type === 'ERROR') {
                if (o.code === 410) is410 = true;
                return;
              }
              if (o.metadata?.resourceVersion) rv = o.metadata.resourceVersion;
              if (type !== 'BOOKMARK') this.events.push({ at, kind, type, obj: o });
            },
            (err: unknown) => resolve(is410 || (err as { statusCode?: number } | null)?.statusCode === 410),
          )
          .then(
            (ac) => {
              this.#aborts.add(ac);
              if (this.#closed) ac.abort();
            },
            () => resolve(false),
          );
      });
      if (gone) rv = '';
      if (!this.#closed) await new Promise((r) => setTimeout(r, 100));
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const ac of this.#aborts) ac.abort();
    await Promise.race([Promise.all(this.#loops), new Promise((r) => setTimeout(r, 2_000))]);
  }
}

/** When each step of one scale from zero was seen (epoch ms), from the first matching event at or after `from`. */
export interface K8sTimeline {
  /** The Deployment's spec.replicas ≥ 1: Wisp's write to the scale subresource. */
  scaled?: number;
  /** The ReplicaSet's spec.replicas ≥ 1: the Deployment controller. */
  replicaSetScaled?: number;
  /** The Pod exists: the ReplicaSet controller. */
  podCreated?: number;
  /** spec.nodeName set: the test kubelet's Binding (there is no scheduler). */
  podBound?: number;
  /** The Pod's network namespace is up (the test kubelet's log line). */
  sandboxReady?: number;
  /** The container is reported running (the kubelet's status write). */
  podRunning?: number;
  /** Condition Ready=True (the kubelet's status write after its readiness probe passed). */
  podReady?: number;
  /** An endpoint of the revision's EndpointSlice has ready=true: the EndpointSlice controller. */
  sliceReady?: number;
}

export function timeline(events: readonly WatchEvent[], from: number, until: number, kubeletLines: readonly { at: number; line: string }[]): K8sTimeline {
  const t: K8sTimeline = {};
  const first = (key: keyof K8sTimeline, at: number): void => {
    if (t[key] === undefined) t[key] = at;
  };
  for (const e of events) {
    if (e.at < from || e.at > until) continue;
    if (e.kind === 'deployment' && ((e.obj as V1Deployment).spec?.replicas ?? 0) >= 1) first('scaled', e.at);
    if (e.kind === 'replicaset' && ((e.obj as V1ReplicaSet).spec?.replicas ?? 0) >= 1) first('replicaSetScaled', e.at);
    if (e.kind === 'pod' && e.type !== 'DELETED') {
      const p = e.obj as V1Pod;
      if (p.metadata?.deletionTimestamp) continue;
      first('podCreated', e.at);
      if (p.spec?.nodeName) first('podBound', e.at);
      if (p.status?.containerStatuses?.some((c) => c.state?.running !== undefined)) first('podRunning', e.at);
      if (p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) first('podReady', e.at);
    }
    if (e.kind === 'endpointslice' && e.type !== 'DELETED' && (e.obj as V1EndpointSlice).endpoints?.some((ep) => ep.conditions?.ready === true)) first('sliceReady', e.at);
  }
  const sandbox = kubeletLines.find((l) => l.at >= from && l.at <= until && / gets IP /.test(l.line));
  if (sandbox) t.sandboxReady = sandbox.at;
  return t;
}
