/**
 * The current `knative-serving/config-defaults`, read from the store and watched (both modes: the embedded store, or
 * the API server's ConfigMaps, which Kubernetes mode list-watches). The serving reconciler reads it when it cuts a
 * Revision. A ConfigMap that does not parse (applied with kubectl: no admission saw it) is logged and the defaults
 * before it are kept; a deleted one gives the compiled defaults back. Never throws.
 */
import { COMPILED_SERVING_DEFAULTS, parseDefaultsConfigMap, type ServingDefaults } from '../../api/config-defaults.js';
import { requireKind, type KindInfo } from '../../api/kinds.js';
import { DEFAULTS_CONFIGMAP } from '../../api/labels.js';
import type { KObject } from '../../api/types.js';
import type { ResourceReader } from '../resource-store.js';

export interface ServingDefaultsSource {
  /** The defaults now (a frozen object; a new one after each change). */
  readonly current: () => ServingDefaults;
  /** Stops watching. */
  close(): void;
}

const CONFIGMAPS = requireKind('configmaps');

export function watchServingDefaults(opts: { store: ResourceReader & { serves(kind: KindInfo): boolean }; log: { warn(m: string): void; info?(m: string): void } }): ServingDefaultsSource {
  const { store, log } = opts;
  let current: ServingDefaults = COMPILED_SERVING_DEFAULTS;
  const take = (cm: KObject | undefined): void => {
    if (!cm) {
      current = COMPILED_SERVING_DEFAULTS;
      return;
    }
    try {
      current = parseDefaultsConfigMap(cm.data ?? {});
    } catch (err) {
      log.warn(`${err instanceof Error ? err.message : String(err)}; revisions are cut with the defaults before it until it is fixed`);
    }
  };
  if (!store.serves(CONFIGMAPS)) return { current: () => current, close: () => undefined };
  take(store.get(CONFIGMAPS, DEFAULTS_CONFIGMAP.namespace, DEFAULTS_CONFIGMAP.name));
  const stop = store.watch((ev) => {
    if (ev.kind.plural !== CONFIGMAPS.plural || ev.kind.group !== CONFIGMAPS.group) return;
    if (ev.object.metadata.namespace !== DEFAULTS_CONFIGMAP.namespace || ev.object.metadata.name !== DEFAULTS_CONFIGMAP.name) return;
    take(ev.type === 'DELETED' ? undefined : ev.object);
  });
  return { current: () => current, close: stop };
}
