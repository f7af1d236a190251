/**
 * The serving reconciler's view of SinkBindings: the env a Service's next revision gets from the bindings in the
 * store, and a signal when a namespace's bindings change (so its Services are reconciled and, when their bound env
 * changed, roll a new revision).
 */
import type { Service } from '../../api/types.js';
import type { ServiceEnvSource } from '../../control/serving/reconciler.js';
import type { ResourceReader } from '../../control/resource-store.js';
import { SINKBINDINGS } from './reconciler.js';
import { boundEnv } from './subject.js';

export function sinkBindingEnvSource(store: ResourceReader): ServiceEnvSource {
  return {
    envFor: (svc: Service) => boundEnv(svc, store.list(SINKBINDINGS, svc.metadata.namespace)),
    watch: (listener) =>
      store.watch((ev) => {
        if (ev.kind.group === SINKBINDINGS.group && ev.kind.kind === SINKBINDINGS.kind) listener(ev.object.metadata.namespace);
      }),
  };
}
