/**
 * SinkBindings' reconciler: resolves each binding's `spec.sink` like a Trigger subscriber and writes status
 * (`sinkUri`, SinkProvided, BindingAvailable, Ready). A binding runs nothing itself: its effect is its status, which
 * the serving reconciler reads (through `sinkBindingInjector`) to give the subject Service's next revision `K_SINK`
 * and `K_CE_OVERRIDES`. Reacts to SinkBindings, to the Brokers and Services sinks refer to, and to the subject.
 */
import type { BindingSubject } from '../../api/sinkbinding.js';
import type { KObject } from '../../api/types.js';
import type { Clock } from '../../clock.js';
import type { ResourceReader, ResourceStore } from '../../control/resource-store.js';
import { kindNamed, SourceReconciler, type SourcePlan, type SourceRunner } from '../source-reconciler.js';
import { sinkBindingStatus } from './status.js';
import { bindsTo } from './subject.js';

export interface SinkBindingsReconcilerOptions {
  store: ResourceStore;
  clock: Clock;
  /** Reconcile failures (`what` says which). */
  onError?: (what: string, err: unknown) => void;
}

export const SINKBINDINGS = kindNamed('sinkbindings.sources.knative.dev');
const SERVICES = kindNamed('services.serving.knative.dev');

/** A binding has nothing to plan beyond its subject being there. */
type BindingRunSpec = Record<string, never>;

/** Bound, or why not: a subject named by `name` that does not exist. A label selector binds whatever matches. */
function plan(store: ResourceReader, binding: KObject): SourcePlan<BindingRunSpec> {
  const subject = (binding.spec as { subject?: BindingSubject } | undefined)?.subject;
  const ns = subject?.namespace ?? binding.metadata.namespace;
  if (subject?.name && subject.kind === SERVICES.kind && !store.get(SERVICES, ns, subject.name)) {
    return { problem: { reason: 'SubjectMissing', message: `${subject.apiVersion} ${subject.kind} "${subject.name}" not found in namespace "${ns}"` } };
  }
  return { runSpec: {} };
}

export class SinkBindingsReconciler extends SourceReconciler<BindingRunSpec, SourceRunner> {
  constructor(o: SinkBindingsReconcilerOptions) {
    super({
      store: o.store,
      clock: o.clock,
      ...(o.onError !== undefined ? { onError: o.onError } : {}),
      source: {
        kind: SINKBINDINGS,
        label: 'sinkbinding',
        waitingForSink: 'The subject is bound once the sink resolves.',
        plan: (binding) => plan(o.store, binding),
        dependsOn: (binding, obj) => bindsTo(binding, obj),
        status: (binding, state) => sinkBindingStatus({ generation: binding.metadata.generation ?? 1, ...state }),
      },
    });
  }
}
