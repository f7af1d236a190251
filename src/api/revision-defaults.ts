/**
 * The one place a revision spec gets its defaults and its config-defaults bounds, as Knative's RevisionSpec
 * SetDefaults and ValidateContainerConcurrency / validateTimeoutSeconds do. Embedded admission (service.ts) and the
 * serving reconciler, when it cuts a Revision, both call these with the current config-defaults. Pure.
 */
import { DEFAULTED_RESOURCES, renderContainerName, type ResourceList, type ServingDefaults } from './config-defaults.js';
import { outOfBounds, type FieldError } from './errors.js';
import type { Container, ResourceRequirements, RevisionSpec } from './types.js';

function withDefaultResources(own: ResourceRequirements | undefined, defaults: ServingDefaults['resources']): ResourceRequirements | undefined {
  const fill = (mine: Record<string, string> | undefined, given: ResourceList): Record<string, string> | undefined => {
    const out: Record<string, string> = { ...(mine ?? {}) };
    for (const r of DEFAULTED_RESOURCES) {
      const v = given[r];
      if (v !== undefined && out[r] === undefined) out[r] = v;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  };
  const requests = fill(own?.requests, defaults.requests);
  const limits = fill(own?.limits, defaults.limits);
  if (requests === undefined && limits === undefined && own === undefined) return undefined;
  return { ...(own ?? {}), ...(requests && { requests }), ...(limits && { limits }) };
}

/**
 * `spec` with what Knative's defaulting fills: the container's name (one container: the container-name-template, with
 * `{{.Name}}` the Service's), `containerConcurrency`, `timeoutSeconds` (unset or 0), and each of the resource defaults a
 * container does not set itself. Returns a new object; the input is not changed.
 */
export function defaultRevisionSpec(spec: RevisionSpec, defaults: ServingDefaults, serviceName: string): RevisionSpec {
  if (spec.containers === undefined) return { ...spec };
  const containers: Container[] = spec.containers.map((c) => {
    const out: Container = { ...c };
    const resources = withDefaultResources(c.resources, defaults.resources);
    if (resources !== undefined) out.resources = resources;
    return out;
  });
  const first = containers[0];
  if (first && containers.length === 1 && (first.name === undefined || first.name === '')) first.name = renderContainerName(defaults.containerNameTemplate, serviceName);
  return {
    ...spec,
    containers,
    containerConcurrency: spec.containerConcurrency ?? defaults.containerConcurrency,
    timeoutSeconds: spec.timeoutSeconds === undefined || spec.timeoutSeconds === 0 ? defaults.timeoutSeconds : spec.timeoutSeconds,
  };
}

/** `containerConcurrency` and `timeoutSeconds` within config-defaults' limits (Knative's messages), at `path`. */
export function revisionSpecLimitErrors(spec: RevisionSpec | undefined, defaults: ServingDefaults, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const cc = spec?.containerConcurrency;
  if (cc !== undefined && (cc < 0 || cc > defaults.maxContainerConcurrency)) {
    errs.push({ field: `${path}.containerConcurrency`, message: outOfBounds(cc, 0, defaults.maxContainerConcurrency) });
  }
  const ts = spec?.timeoutSeconds;
  if (ts !== undefined && (ts < 0 || ts > defaults.maxTimeoutSeconds)) {
    errs.push({ field: `${path}.timeoutSeconds`, message: outOfBounds(ts, 0, defaults.maxTimeoutSeconds) });
  }
  return errs;
}
