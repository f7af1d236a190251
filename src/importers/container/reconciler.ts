/**
 * ContainerSources' reconciler: resolves each source's `spec.sink` like a Trigger subscriber, runs its container as a
 * local process (ContainerSourceRunner) with `K_SINK` and `K_CE_OVERRIDES`, restarts it when what it runs or where it
 * sends changes, and writes status (`sinkUri`, conditions Ready, SinkProvided, Deployed — False with the crash reason
 * while the process crash-loops). Deleting a source stops its process (SIGTERM, then SIGKILL after the grace period).
 * The watch/queue/sink/status skeleton is SourceReconciler's; this file says what a ContainerSource runs.
 */
import type { Clock } from '../../clock.js';
import type { ResourceStore } from '../../control/resource-store.js';
import type { LogLine } from '../../runtime/types.js';
import { kindNamed, SourceReconciler } from '../source-reconciler.js';
import { sourceStatus } from '../status.js';
import { planContainerSource, type ContainerRunSpec } from './plan.js';
import { ContainerSourceRunner, type ContainerWorkloads } from './runner.js';

export interface ContainerSourcesReconcilerOptions {
  store: ResourceStore;
  clock: Clock;
  /** Where the processes run: a LocalRuntime of their own (its state dir records them for orphan reaping). */
  runtime: ContainerWorkloads;
  /** Folder relative `workingDir` resolves against when a source carries no `wisp.dev/source-dir` annotation. */
  defaultBaseDir: string;
  /** Reconcile failures (`what` says which). */
  onError?: (what: string, err: unknown) => void;
  /** Every line a source's process writes, by source key `<ns>/<name>`. */
  onLog?: (key: string, stream: LogLine['stream'], line: string) => void;
}

const CONTAINERSOURCES = kindNamed('containersources.sources.knative.dev');

export class ContainerSourcesReconciler extends SourceReconciler<ContainerRunSpec, ContainerSourceRunner> {
  constructor(options: ContainerSourcesReconcilerOptions) {
    const o = options;
    /** Numbers each runner, so each gets its own runtime key. */
    let seq = 0;
    super({
      store: o.store,
      clock: o.clock,
      ...(o.onError !== undefined ? { onError: o.onError } : {}),
      source: {
        kind: CONTAINERSOURCES,
        label: 'containersource',
        waitingForSink: 'The process starts once the sink resolves.',
        plan: (source, sinkUri) => planContainerSource(source, sinkUri, o.defaultBaseDir),
        createRunner: (key, spec, requeue) => {
          const n = ++seq;
          const onLog = o.onLog;
          return new ContainerSourceRunner({
            spec,
            workloadKey: `${key}#${n}`,
            workloadName: `${spec.name}-${n}`,
            runtime: o.runtime,
            requeue,
            ...(onLog !== undefined ? { onLog: (stream: LogLine['stream'], line: string) => onLog(key, stream, line) } : {}),
            onError: (err: unknown) => o.onError?.(`containersource ${key}`, err),
          });
        },
        status: (source, state) => sourceStatus({ generation: source.metadata.generation ?? 1, ceAttributes: [], ...state }),
      },
    });
  }
}
