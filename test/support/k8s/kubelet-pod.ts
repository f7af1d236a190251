/**
 * One Pod bound to the test kubelet's node: its network, its containers, its status writes and its end.
 *
 * Lifecycle: starting (network, containers) → running → [terminal: Succeeded/Failed, network gone]
 *            → terminating (deletionTimestamp: preStop, SIGTERM, grace, SIGKILL, network gone) → final delete.
 * A Pod that vanished from the API (deleted outright) is only killed.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CoreV1Api, V1Container, V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import type { Clock, Timer } from '../../../src/clock.js';
import { ContainerRunner, type Backoff, type ContainerInfo } from './kubelet-container.js';
import { errorText, mergePatch, plain, statusCode } from './kubelet-node.js';
import { referencedSources, resolveContainer, type ConfigSources, type ImageEntry, type ResolveResult } from './kubelet-spec.js';
import { buildPodStatus, podPhase, type PodCondition, type PodView, type RestartPolicy } from './kubelet-status.js';
import type { NodeNetwork, PodNetwork } from './netns.js';
import { CLAIM_ENV } from './netns.js';

export interface PodWorkerOptions {
  pod: V1Pod;
  nodeName: string;
  core: CoreV1Api;
  network: NodeNetwork;
  images: Readonly<Record<string, ImageEntry>>;
  clock: Clock;
  backoff: Backoff;
  probeMaxPeriodMs?: number;
  logRoot: string;
  baseEnv: Readonly<Record<string, string>>;
  log(line: string): void;
  /** Called once the worker is finished with the Pod (deleted from the API, or killed). */
  onDone(uid: string): void;
}

export interface KubeletPodInfo {
  namespace: string;
  name: string;
  uid: string;
  phase: string;
  podIP?: string;
  netns?: string;
  containers: ContainerInfo[];
  initContainers: ContainerInfo[];
}

type WorkerState = 'starting' | 'running' | 'terminal' | 'terminating' | 'done';

const FORCE_KILL_GRACE_MS = 2_000;

export class PodWorker {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly #o: PodWorkerOptions;
  #pod: V1Pod;
  #state: WorkerState = 'starting';
  #net: PodNetwork | undefined;
  #runners: ContainerRunner[] = [];
  #initRunners: ContainerRunner[] = [];
  #initialized = false;
  readonly #startTime: number;
  #terminalPhase: 'Succeeded' | 'Failed' | undefined;
  #lastWritten = '';
  #writing = false;
  #dirty = false;
  #writeTimer: Timer | undefined;
  #writeFailures = 0;
  #gone = false;

  constructor(opts: PodWorkerOptions) {
    this.#o = opts;
    this.#pod = opts.pod;
    this.uid = opts.pod.metadata?.uid ?? '';
    this.namespace = opts.pod.metadata?.namespace ?? 'default';
    this.name = opts.pod.metadata?.name ?? '';
    const prevStart = opts.pod.status?.startTime;
    this.#startTime = prevStart ? new Date(prevStart).getTime() : opts.clock.now();
  }

  get key(): string {
    return `${this.namespace}/${this.name}`;
  }

  get #restartPolicy(): RestartPolicy {
    const p = this.#pod.spec?.restartPolicy;
    return p === 'Never' || p === 'OnFailure' ? p : 'Always';
  }

  info(): KubeletPodInfo {
    return {
      namespace: this.namespace,
      name: this.name,
      uid: this.uid,
      phase: podPhase(this.#view()),
      ...(this.#net ? { podIP: this.#net.ip } : {}),
      ...(this.#net?.netns ? { netns: this.#net.netns } : {}),
      containers: this.#runners.map((r) => r.info()),
      initContainers: this.#initRunners.map((r) => r.info()),
    };
  }

  logFile(container: string, back: number): string | undefined {
    return [...this.#runners, ...this.#initRunners].find((r) => r.name === container)?.logFile(back);
  }

  #view(): PodView {
    return {
      restartPolicy: this.#restartPolicy,
      initContainers: this.#initRunners.map((r) => r.view()),
      initialized: this.#initialized,
      containers: this.#runners.map((r) => r.view()),
      ...(this.#net ? { podIP: this.#net.ip } : {}),
      hostIP: this.#o.network.hostIP,
      startTime: this.#startTime,
      sandboxReady: this.#net !== undefined && this.#state !== 'terminal' && this.#state !== 'done',
      ...(this.#terminalPhase ? { terminalPhase: this.#terminalPhase } : {}),
      readinessGates: (this.#pod.spec?.readinessGates ?? []).map((g) => g.conditionType),
      ...(this.#pod.metadata?.generation !== undefined ? { observedGeneration: this.#pod.metadata.generation } : {}),
    };
  }

  async start(): Promise<void> {
    const o = this.#o;
    const pod = this.#pod;
    const previous = new Map((pod.status?.containerStatuses ?? []).map((s) => [s.name, s]));
    const logDir = join(o.logRoot, `${this.namespace}_${this.name}_${this.uid}`);
    await mkdir(logDir, { recursive: true });
    if (previous.size > 0) o.log(`test kubelet: pod ${this.key} ran on this node before this kubelet started: starting its containers again`);
    const net = (): PodNetwork => {
      if (!this.#net) throw new Error(`pod ${this.key}: no network`);
      return this.#net;
    };
    const previousInit = new Map((pod.status?.initContainerStatuses ?? []).map((st) => [st.name, st]));
    const make = (container: V1Container, restartPolicy: RestartPolicy, sidecar: boolean, prev: V1ContainerStatus | undefined): ContainerRunner => {
      const wasStarted = prev?.state?.running !== undefined || prev?.state?.terminated !== undefined;
      return new ContainerRunner({
        pod,
        container,
        network: net,
        restartPolicy,
        sidecar,
        resolve: () => this.#resolve(container),
        clock: o.clock,
        backoff: o.backoff,
        ...(o.probeMaxPeriodMs !== undefined ? { probeMaxPeriodMs: o.probeMaxPeriodMs } : {}),
        logDir,
        extraEnv: { [CLAIM_ENV]: o.network.claim },
        initialRestartCount: (prev?.restartCount ?? 0) + (wasStarted ? 1 : 0),
        onChange: () => this.#containerChanged(),
        log: o.log,
      });
    };
    // Init containers restart on failure unless the Pod's policy is Never; sidecars (restartPolicy Always) always.
    const initPolicy: RestartPolicy = this.#restartPolicy === 'Never' ? 'Never' : 'OnFailure';
    this.#initRunners = (pod.spec?.initContainers ?? []).map((c) =>
      c.restartPolicy === 'Always' ? make(c, 'Always', true, previousInit.get(c.name)) : make(c, initPolicy, false, previousInit.get(c.name)),
    );
    this.#runners = (pod.spec?.containers ?? []).map((c) => make(c, this.#restartPolicy, false, previous.get(c.name)));
    this.#initialized = this.#initRunners.length === 0;
    this.#scheduleWrite();
    try {
      this.#net = await o.network.setUp(this.key);
    } catch (err) {
      o.log(`test kubelet: ${errorText(err)}`);
      // The real kubelet reports FailedCreatePodSandBox and retries; so does this one.
      this.#o.clock.setTimeout(() => void this.#retryStart(), 1_000);
      return;
    }
    this.#launch();
  }

  async #retryStart(): Promise<void> {
    if (this.#state !== 'starting') return;
    try {
      this.#net = await this.#o.network.setUp(this.key);
    } catch (err) {
      this.#o.log(`test kubelet: ${errorText(err)}`);
      this.#o.clock.setTimeout(() => void this.#retryStart(), 2_000);
      return;
    }
    this.#launch();
  }

  #launch(): void {
    if (this.#state !== 'starting') {
      // Deleted while the network was being made.
      void this.#releaseNetwork();
      return;
    }
    this.#state = 'running';
    this.#o.log(`test kubelet: pod ${this.key} gets IP ${this.#net?.ip ?? '?'}${this.#net?.netns ? ` (netns ${this.#net.netns})` : ''}`);
    this.#advanceInit();
    this.#scheduleWrite();
  }

  /** Starts the next init container once the one before completed (a sidecar: started); then the app containers. */
  #advanceInit(): void {
    if (this.#state !== 'running') return;
    if (!this.#initialized) {
      for (const r of this.#initRunners) {
        const v = r.view();
        if (!r.launched) return r.start();
        if (r.view().sidecar) {
          if (!v.started) return;
          continue;
        }
        if (v.state.kind === 'terminated' && v.state.exitCode === 0) continue;
        return; // running, restarting, or failed for good (restartPolicy Never: the Pod fails)
      }
      this.#initialized = true;
    }
    for (const r of this.#runners) r.start();
  }

  async #resolve(container: V1Container): Promise<ResolveResult> {
    const o = this.#o;
    const pod = this.#pod;
    const refs = referencedSources(pod, container);
    const sources: { configMaps: Map<string, Record<string, string>>; secrets: Map<string, Record<string, string>> } = { configMaps: new Map(), secrets: new Map() };
    for (const key of refs.configMaps) {
      const [namespace = '', name = ''] = key.split('/');
      try {
        const cm = await o.core.readNamespacedConfigMap({ name, namespace }, plain());
        sources.configMaps.set(key, { ...(cm.data ?? {}) });
      } catch (err) {
        if (statusCode(err) !== 404) throw new Error(`read configmap ${key}: ${errorText(err)}`);
      }
    }
    for (const key of refs.secrets) {
      const [namespace = '', name = ''] = key.split('/');
      try {
        const s = await o.core.readNamespacedSecret({ name, namespace }, plain());
        const data: Record<string, string> = {};
        for (const [k, v] of Object.entries(s.data ?? {})) data[k] = Buffer.from(v, 'base64').toString('utf8');
        for (const [k, v] of Object.entries(s.stringData ?? {})) data[k] = v;
        sources.secrets.set(key, data);
      } catch (err) {
        if (statusCode(err) !== 404) throw new Error(`read secret ${key}: ${errorText(err)}`);
      }
    }
    const net = this.#net;
    return resolveContainer(container, {
      pod,
      images: o.images,
      nodeName: o.nodeName,
      hostIP: o.network.hostIP,
      podIP: net?.ip ?? '',
      baseEnv: o.baseEnv,
      networkEnv: net?.env ?? {},
      defaultWorkingDir: process.cwd(),
      sources: sources satisfies ConfigSources,
    });
  }

  #containerChanged(): void {
    if (this.#state === 'running') {
      this.#advanceInit();
      const phase = podPhase(this.#view());
      if (phase === 'Succeeded' || phase === 'Failed') {
        this.#terminalPhase = phase;
        this.#state = 'terminal';
        this.#o.log(`test kubelet: pod ${this.key} ${phase}`);
        // The app containers are done: sidecars stop, then the network goes.
        const grace = (this.#pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000;
        void Promise.all(this.#initRunners.map((r) => r.stop(grace))).then(() => this.#releaseNetwork());
      }
    }
    this.#scheduleWrite();
  }

  /** App containers first, then init containers (sidecars), within one grace period. */
  async #stopAll(graceMs: number): Promise<void> {
    const started = this.#o.clock.now();
    await Promise.all(this.#runners.map((r) => r.stop(graceMs)));
    const left = Math.max(0, graceMs - (this.#o.clock.now() - started));
    await Promise.all(this.#initRunners.map((r) => r.stop(left)));
  }

  /** A newer version of the Pod from the watch. */
  update(pod: V1Pod): void {
    if (pod.metadata?.uid !== this.uid) return;
    this.#pod = pod;
    if (pod.metadata?.deletionTimestamp && this.#state !== 'terminating' && this.#state !== 'done') {
      const grace = pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
      void this.#terminate(grace * 1000, true);
    }
  }

  /** The Pod is gone from the API (deleted with grace 0, or its namespace removed): kill what runs. */
  gone(): void {
    this.#gone = true;
    if (this.#state === 'terminating' || this.#state === 'done') return;
    void this.#terminate(FORCE_KILL_GRACE_MS, false);
  }

  /** The kubelet stops: kill its processes, leave the Pod in the API as it is (as a dead kubelet would). */
  async shutdown(graceMs: number): Promise<void> {
    this.#gone = true;
    if (this.#state === 'done') return;
    this.#state = 'terminating';
    this.#writeTimer?.cancel();
    await this.#stopAll(graceMs);
    await this.#releaseNetwork();
    this.#state = 'done';
  }

  killNow(): void {
    for (const r of [...this.#runners, ...this.#initRunners]) r.killNow();
  }

  async #terminate(graceMs: number, finalDelete: boolean): Promise<void> {
    const wasTerminal = this.#state === 'terminal';
    this.#state = 'terminating';
    if (!wasTerminal) this.#o.log(`test kubelet: pod ${this.key} terminating (grace ${Math.round(graceMs / 1000)} s)`);
    await this.#stopAll(graceMs);
    await this.#releaseNetwork();
    if (finalDelete && !this.#gone) {
      await this.#flushStatus();
      await this.#finalDelete();
    }
    this.#state = 'done';
    this.#writeTimer?.cancel();
    this.#o.onDone(this.uid);
  }

  async #releaseNetwork(): Promise<void> {
    const net = this.#net;
    if (!net) return;
    try {
      await this.#o.network.tearDown(net);
    } catch (err) {
      this.#o.log(`test kubelet: tear down network of ${this.key}: ${errorText(err)}`);
    }
  }

  async #finalDelete(): Promise<void> {
    for (let attempt = 0; !this.#gone; attempt++) {
      try {
        await this.#o.core.deleteNamespacedPod({ name: this.name, namespace: this.namespace, gracePeriodSeconds: 0, body: { gracePeriodSeconds: 0, preconditions: { uid: this.uid } } }, plain());
        this.#o.log(`test kubelet: pod ${this.key} deleted`);
        return;
      } catch (err) {
        const code = statusCode(err);
        if (code === 404 || code === 409) return; // gone already, or a new Pod of that name
        this.#o.log(`test kubelet: final delete of ${this.key} failed (will retry): ${errorText(err)}`);
        await new Promise<void>((r) => this.#o.clock.setTimeout(r, Math.min(5_000, 200 * 2 ** attempt)));
      }
    }
  }

  #scheduleWrite(delayMs = 0): void {
    if (this.#gone || this.#state === 'done') return;
    this.#dirty = true;
    if (this.#writing || this.#writeTimer) return;
    this.#writeTimer = this.#o.clock.setTimeout(() => {
      this.#writeTimer = undefined;
      void this.#write();
    }, delayMs);
  }

  /** Writes what changed now and waits for it (before the final delete). */
  async #flushStatus(): Promise<void> {
    this.#writeTimer?.cancel();
    this.#writeTimer = undefined;
    while (this.#writing) await new Promise<void>((r) => this.#o.clock.setTimeout(r, 10));
    this.#dirty = true;
    await this.#write();
  }

  async #write(): Promise<void> {
    if (this.#writing || !this.#dirty || this.#gone) return;
    this.#writing = true;
    this.#dirty = false;
    const previous = (this.#pod.status?.conditions ?? []).map((c) => ({
      ...c,
      lastTransitionTime: c.lastTransitionTime ? new Date(c.lastTransitionTime).toISOString().replace('.000Z', 'Z') : undefined,
    })) as PodCondition[];
    const status = buildPodStatus(this.#view(), previous, this.#o.clock.now());
    const body = JSON.stringify(status);
    let retryMs: number | undefined;
    if (body !== this.#lastWritten) {
      try {
        const updated = await this.#o.core.patchNamespacedPodStatus({ name: this.name, namespace: this.namespace, body: { metadata: { uid: this.uid }, status } }, mergePatch());
        if (updated.metadata?.uid === this.uid) this.#pod = updated;
        this.#lastWritten = body;
        this.#writeFailures = 0;
      } catch (err) {
        const code = statusCode(err);
        if (code === 404 || code === 409) {
          this.#gone = code === 404 || this.#gone;
        } else {
          this.#writeFailures++;
          retryMs = Math.min(5_000, 100 * 2 ** this.#writeFailures);
          this.#o.log(`test kubelet: status of ${this.key} not written (retry in ${retryMs} ms): ${errorText(err)}`);
          this.#dirty = true;
        }
      }
    }
    this.#writing = false;
    if (this.#dirty) this.#scheduleWrite(retryMs ?? 0);
  }
}
