/**
 * `K_SINK` and `K_CE_OVERRIDES` in a pod template, as Knative's SinkBinding `Do` and `Undo` write them: set in every
 * container and init container (after the container's own variables, replacing any of the same name), or removed
 * from all of them. Used for a ContainerSource's Deployment and for a SinkBinding's Deployment and Job subjects on
 * Kubernetes. Pure: new objects are returned, the inputs are left as they were. Structural types, so both Wisp's
 * `Container` and client-node's `V1Container` fit.
 */

/** The variables a sink binding owns in a pod template. */
export const SINK_ENV_NAMES: readonly string[] = Object.freeze(['K_SINK', 'K_CE_OVERRIDES']);

export interface EnvEntry {
  name: string;
  value?: string;
  valueFrom?: unknown;
}

export interface EnvContainer {
  name?: string;
  env?: EnvEntry[];
}

export interface EnvPodSpec {
  containers?: EnvContainer[];
  initContainers?: EnvContainer[];
}

const owned = (e: EnvEntry): boolean => SINK_ENV_NAMES.includes(e.name);

/** An env entry as the API server stores it: an empty value is left out (Go's `omitempty`). */
function entry(name: string, value: string): EnvEntry {
  return value === '' ? { name } : { name, value };
}

/** The container's env without the sink variables, then `env` in SINK_ENV_NAMES order. */
function bindContainer<C extends EnvContainer>(c: C, env: Readonly<Record<string, string>>): C {
  const kept = (c.env ?? []).filter((e) => !owned(e));
  const added = SINK_ENV_NAMES.filter((n) => env[n] !== undefined).map((n) => entry(n, env[n] ?? ''));
  const next = [...kept, ...added];
  const out = { ...c };
  if (next.length > 0) out.env = next;
  else delete out.env;
  return out;
}

function unbindContainer<C extends EnvContainer>(c: C): C {
  if (!(c.env ?? []).some(owned)) return c;
  const kept = (c.env ?? []).filter((e) => !owned(e));
  const out = { ...c };
  if (kept.length > 0) out.env = kept;
  else delete out.env;
  return out;
}

/** The pod spec with `env` (`K_SINK`, and `K_CE_OVERRIDES` when present) in every container and init container. */
export function bindPodSpec<S extends EnvPodSpec>(spec: S, env: Readonly<Record<string, string>>): S {
  const out = { ...spec };
  if (spec.containers) out.containers = spec.containers.map((c) => bindContainer(c, env));
  if (spec.initContainers) out.initContainers = spec.initContainers.map((c) => bindContainer(c, env));
  return out;
}

/** The pod spec without `K_SINK` and `K_CE_OVERRIDES` in any container (Knative's `Undo`). */
export function unbindPodSpec<S extends EnvPodSpec>(spec: S): S {
  const out = { ...spec };
  if (spec.containers) out.containers = spec.containers.map((c) => unbindContainer(c));
  if (spec.initContainers) out.initContainers = spec.initContainers.map((c) => unbindContainer(c));
  return out;
}

/** Whether one container carries exactly `env` of the sink variables (each once, as a plain value; none other). */
function containerHas(c: EnvContainer, env: Readonly<Record<string, string>>): boolean {
  for (const name of SINK_ENV_NAMES) {
    const found = (c.env ?? []).filter((e) => e.name === name);
    const want = env[name];
    if (want === undefined) {
      if (found.length > 0) return false;
    } else if (found.length !== 1 || found[0]?.valueFrom !== undefined || (found[0]?.value ?? '') !== want) {
      return false;
    }
  }
  return true;
}

/** Whether every container and init container carries exactly `env` of the sink variables. */
export function podSpecHasSinkEnv(spec: EnvPodSpec | undefined, env: Readonly<Record<string, string>>): boolean {
  const all = [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])];
  return all.every((c) => containerHas(c, env));
}

/** Whether any container or init container sets `K_SINK` or `K_CE_OVERRIDES`. */
export function podSpecHasAnySinkEnv(spec: EnvPodSpec | undefined): boolean {
  return [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])].some((c) => (c.env ?? []).some(owned));
}
