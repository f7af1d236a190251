/**
 * The test kubelet's pure core for Pod status: container states → phase, conditions and containerStatuses,
 * as the real kubelet computes them (pkg/kubelet/kubelet_pods.go getPhase, generateAPIPodStatus, the status
 * manager's condition transition times). Also the crash-loop back-off schedule. No I/O, no clock: `now` is passed in.
 */

export interface Terminated {
  exitCode: number;
  signal?: number;
  reason: string;
  message?: string;
  startedAt: number;
  finishedAt: number;
  containerID?: string;
}

export type ContainerState =
  | { kind: 'waiting'; reason: string; message?: string }
  | { kind: 'running'; startedAt: number }
  | ({ kind: 'terminated' } & Terminated);

export interface ContainerView {
  name: string;
  image: string;
  containerID?: string;
  state: ContainerState;
  lastTerminated?: Terminated;
  restartCount: number;
  ready: boolean;
  started: boolean;
  /** An init container with restartPolicy Always (a native sidecar): it keeps running beside the app containers. */
  sidecar?: boolean;
}

export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';
export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

export interface PodView {
  restartPolicy: RestartPolicy;
  /** spec.initContainers' statuses (sidecars, restartPolicy Always, included). */
  initContainers: readonly ContainerView[];
  /** Every init container completed (sidecars: started); the app containers may run. */
  initialized: boolean;
  containers: readonly ContainerView[];
  podIP?: string;
  hostIP: string;
  startTime: number;
  /** The Pod's network exists (condition PodReadyToStartContainers). */
  sandboxReady: boolean;
  /** A phase that was reached before and must not change any more (Succeeded/Failed are terminal). */
  terminalPhase?: 'Succeeded' | 'Failed';
  /** spec.readinessGates condition types. */
  readinessGates: readonly string[];
  observedGeneration?: number;
}

export interface PodCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastProbeTime?: string | null;
  lastTransitionTime?: string;
  observedGeneration?: number;
}

/** Kubernetes' metav1.Time: RFC 3339, whole seconds. */
export function k8sTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** Back-off before restart number `n` (1 = after the first exit): initial doubling up to max, as the kubelet's. */
export function backoffDelay(n: number, backoff: { initialMs: number; maxMs: number }): number {
  const exp = Math.max(0, n - 1);
  const d = backoff.initialMs * 2 ** Math.min(exp, 30);
  return Math.min(d, backoff.maxMs);
}

/** Whether a container that exited with `exitCode` is started again under `policy`. */
export function shouldRestart(policy: RestartPolicy, exitCode: number): boolean {
  return policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
}

/** The kubelet's getPhase: Pending while initializing, then from the app containers' states. */
export function podPhase(view: Pick<PodView, 'restartPolicy' | 'containers' | 'terminalPhase' | 'initContainers' | 'initialized'>): PodPhase {
  if (view.terminalPhase) return view.terminalPhase;
  if (!view.initialized) {
    const failed = view.initContainers.some((c) => c.state.kind === 'terminated' && c.state.exitCode !== 0);
    return failed && view.restartPolicy === 'Never' ? 'Failed' : 'Pending';
  }
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const c of view.containers) {
    if (c.state.kind === 'running') running++;
    else if (c.state.kind === 'terminated') {
      stopped++;
      if (c.state.exitCode === 0) succeeded++;
    } else if (c.lastTerminated) stopped++;
    else waiting++;
  }
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped > 0) {
    if (view.restartPolicy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    // Every container stopped, some failed: Never gives up; OnFailure is restarting them.
    return view.restartPolicy === 'Never' ? 'Failed' : 'Running';
  }
  return 'Pending';
}

function stateJson(s: ContainerState | Terminated, asTerminated = false): Record<string, unknown> {
  if (asTerminated || (s as ContainerState).kind === 'terminated') {
    const t = s as Terminated;
    return {
      terminated: {
        exitCode: t.exitCode,
        ...(t.signal !== undefined ? { signal: t.signal } : {}),
        reason: t.reason,
        ...(t.message ? { message: t.message } : {}),
        startedAt: k8sTime(t.startedAt),
        finishedAt: k8sTime(t.finishedAt),
        ...(t.containerID ? { containerID: t.containerID } : {}),
      },
    };
  }
  const st = s as ContainerState;
  if (st.kind === 'running') return { running: { startedAt: k8sTime(st.startedAt) } };
  if (st.kind === 'waiting') return { waiting: { reason: st.reason, ...(st.message ? { message: st.message } : {}) } };
  return {};
}

/** One entry of status.containerStatuses. */
export function containerStatusJson(c: ContainerView): Record<string, unknown> {
  return {
    name: c.name,
    image: c.image,
    imageID: '',
    ...(c.containerID ? { containerID: c.containerID } : {}),
    ready: c.ready,
    started: c.started,
    restartCount: c.restartCount,
    state: stateJson(c.state),
    lastState: c.lastTerminated ? stateJson(c.lastTerminated, true) : {},
  };
}

/** Keeps a condition's lastTransitionTime while its status stays the same. */
function withTransition(cond: PodCondition, previous: readonly PodCondition[], now: number): PodCondition {
  const prev = previous.find((p) => p.type === cond.type);
  const lastTransitionTime = prev && prev.status === cond.status && prev.lastTransitionTime ? prev.lastTransitionTime : k8sTime(now);
  return { ...cond, lastProbeTime: null, lastTransitionTime };
}

const OWN_CONDITIONS = new Set(['PodScheduled', 'Initialized', 'ContainersReady', 'Ready', 'PodReadyToStartContainers']);

/**
 * The Pod's whole status as the kubelet reports it. `previous` are the conditions the Pod has now: this
 * kubelet's own keep their transition times, conditions others own (readiness gates, DisruptionTarget) are kept.
 */
export function buildPodStatus(view: PodView, previous: readonly PodCondition[], now: number): Record<string, unknown> {
  const phase = podPhase(view);
  const terminal = phase === 'Succeeded' || phase === 'Failed';
  const unready = [...view.initContainers.filter((c) => c.sidecar), ...view.containers].filter((c) => !c.ready).map((c) => c.name);
  const containersReady = !terminal && unready.length === 0 && view.containers.length > 0;
  const gatesFalse = view.readinessGates.filter((g) => previous.find((p) => p.type === g)?.status !== 'True');
  const ready = containersReady && gatesFalse.length === 0;
  const gen = view.observedGeneration !== undefined ? { observedGeneration: view.observedGeneration } : {};
  const notReady = (): Pick<PodCondition, 'reason' | 'message'> =>
    terminal ? { reason: 'PodCompleted' } : { reason: 'ContainersNotReady', message: `containers with unready status: [${unready.join(' ')}]` };
  const incomplete = view.initContainers
    .filter((c) => (c.sidecar ? !c.started : !(c.state.kind === 'terminated' && c.state.exitCode === 0)))
    .map((c) => c.name);
  const own: PodCondition[] = [
    { type: 'PodReadyToStartContainers', status: view.sandboxReady ? 'True' : 'False', ...gen },
    view.initialized
      ? { type: 'Initialized', status: 'True', ...gen }
      : { type: 'Initialized', status: 'False', reason: 'ContainersNotInitialized', message: `containers with incomplete status: [${incomplete.join(' ')}]`, ...gen },
    ready
      ? { type: 'Ready', status: 'True', ...gen }
      : {
          type: 'Ready',
          status: 'False',
          ...(containersReady ? { reason: 'ReadinessGatesNotReady', message: `the status of pod readiness gate "${gatesFalse.join('", "')}" is not "True"` } : notReady()),
          ...gen,
        },
    containersReady ? { type: 'ContainersReady', status: 'True', ...gen } : { type: 'ContainersReady', status: 'False', ...notReady(), ...gen },
    { type: 'PodScheduled', status: 'True', ...gen },
  ];
  const conditions = [...own.map((c) => withTransition(c, previous, now)), ...previous.filter((p) => !OWN_CONDITIONS.has(p.type))];
  return {
    phase,
    conditions,
    hostIP: view.hostIP,
    hostIPs: [{ ip: view.hostIP }],
    ...(view.podIP ? { podIP: view.podIP, podIPs: [{ ip: view.podIP }] } : { podIP: null, podIPs: null }),
    startTime: k8sTime(view.startTime),
    ...(view.initContainers.length > 0 ? { initContainerStatuses: view.initContainers.map(containerStatusJson) } : {}),
    containerStatuses: view.containers.map(containerStatusJson),
    ...gen,
  };
}
