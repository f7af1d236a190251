/** Knative Service defaulting and semantic validation (what Knative's webhooks do). Pure. */
import { parseGoDuration, validateScalingAnnotations, type AutoscalerConfig } from '../../autoscaler/index.js';
import { COMPILED_SERVING_DEFAULTS, type ServingDefaults } from './config-defaults.js';
import { SERVING_DEFAULTS } from './defaults.js';
import { joinField, outOfBounds, type FieldError } from './errors.js';
import { PROGRESS_DEADLINE_ANNOTATION } from './labels.js';
import { dns1035LabelErrors, isEnvVarName, RESERVED_ENV_NAMES } from './names.js';
import { defaultRevisionSpec, revisionSpecLimitErrors } from './revision-defaults.js';
import type { Container, Service, TrafficTarget } from './types.js';

/**
 * Fills what Knative's defaulting webhook fills, with the platform's config-defaults (compiled defaults when absent).
 * Returns a new object; the input is not changed.
 */
export function defaultService(input: Service, defaults: ServingDefaults = COMPILED_SERVING_DEFAULTS): Service {
  const svc = structuredClone(input);
  if (!svc.spec) return svc;
  const template = svc.spec.template;
  if (template?.spec) template.spec = defaultRevisionSpec(template.spec, defaults, svc.metadata.name);
  if (svc.spec.traffic === undefined || svc.spec.traffic.length === 0) {
    svc.spec.traffic = [{ latestRevision: true, percent: 100 }];
  } else {
    // Knative's RouteSpec defaulting: an entry without latestRevision floats to latest unless it pins a revision.
    for (const t of svc.spec.traffic) t.latestRevision ??= !t.revisionName;
  }
  return svc;
}

function containerErrors(c: Container, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!c.image && !(c.command && c.command.length > 0)) {
    errs.push({ field: `${path}.image`, message: 'missing field(s): set image, or command to run the container as a local process' });
  }
  (c.env ?? []).forEach((e, i) => {
    if (!isEnvVarName(e.name)) {
      errs.push({
        field: `${path}.env[${i}].name`,
        message: `invalid value "${e.name}": a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit`,
      });
    } else if (RESERVED_ENV_NAMES.includes(e.name)) {
      errs.push({ field: `${path}.env[${i}].name`, message: `"${e.name}" is a reserved environment variable` });
    }
  });
  const ports = c.ports ?? [];
  if (ports.length > 1) errs.push({ field: `${path}.ports`, message: 'more than one container port is set' });
  ports.forEach((p, i) => {
    if (p.containerPort !== undefined && (p.containerPort < 1 || p.containerPort > 65535)) {
      errs.push({ field: `${path}.ports[${i}].containerPort`, message: outOfBounds(p.containerPort, 1, 65535) });
    }
  });
  const probe = c.readinessProbe as Record<string, unknown> | undefined;
  if (probe) {
    const handlers = ['httpGet', 'tcpSocket', 'exec', 'grpc'].filter((h) => probe[h] !== undefined);
    if (handlers.length > 1) {
      errs.push({ field: `${path}.readinessProbe`, message: `expected exactly one, got ${handlers.join(', ')}` });
    }
  }
  return errs;
}

function trafficErrors(svcName: string, traffic: TrafficTarget[]): FieldError[] {
  const errs: FieldError[] = [];
  const tags = new Map<string, number>();
  let sum = 0;
  traffic.forEach((t, i) => {
    const path = `spec.traffic[${i}]`;
    sum += t.percent ?? 0;
    if (t.percent !== undefined && (t.percent < 0 || t.percent > 100)) {
      errs.push({ field: `${path}.percent`, message: outOfBounds(t.percent, 0, 100) });
    }
    if (t.revisionName && t.configurationName) {
      errs.push({ field: `${path}.configurationName`, message: 'expected exactly one, got both revisionName and configurationName' });
    } else if (t.configurationName !== undefined && t.configurationName !== svcName) {
      errs.push({ field: `${path}.configurationName`, message: `must be "${svcName}": a Service has exactly one Configuration, named after it` });
    }
    if (t.latestRevision !== undefined && t.latestRevision === Boolean(t.revisionName)) {
      errs.push({
        field: `${path}.latestRevision`,
        message: t.latestRevision
          ? `may not set revisionName "${t.revisionName ?? ''}" when latestRevision is true`
          : 'latestRevision: false needs a revisionName to pin traffic to',
      });
    }
    if (t.url !== undefined) errs.push({ field: `${path}.url`, message: 'must not set the field(s): url is set by the platform in status' });
    if (t.tag !== undefined) {
      for (const m of dns1035LabelErrors(t.tag)) errs.push({ field: `${path}.tag`, message: `invalid value "${t.tag}": ${m}` });
      const seen = tags.get(t.tag);
      if (seen !== undefined) {
        errs.push({ field: `${path}.tag`, message: `multiple definitions for "${t.tag}" (also spec.traffic[${seen}].tag)` });
      } else tags.set(t.tag, i);
    }
  });
  if (sum !== 100) errs.push({ field: 'spec.traffic', message: `traffic targets sum to ${sum}, want 100` });
  return errs;
}

export interface ServiceRuleOptions {
  /** The platform's `config-autoscaler` (limits such as max-scale-limit); the autoscaler's defaults when absent. */
  autoscalerConfig?: AutoscalerConfig;
  /** The platform's `config-defaults` (max-revision-timeout-seconds, container-concurrency-max-limit); compiled defaults when absent. */
  servingDefaults?: ServingDefaults;
}

/** Knative's semantic rules for a (defaulted, shape-checked) Service. */
export function serviceErrors(svc: Service, opts: ServiceRuleOptions = {}): FieldError[] {
  const errs: FieldError[] = [];
  const name = svc.metadata.name;
  for (const m of dns1035LabelErrors(name, SERVING_DEFAULTS.maxServiceNameLength)) {
    errs.push({ field: 'metadata.name', message: `invalid value "${name}": ${m} (revision names append -00001)` });
  }
  const template = svc.spec?.template;
  const spec = template?.spec;
  const containers = spec?.containers ?? [];
  if (containers.length === 0) {
    errs.push({ field: 'spec.template.spec.containers', message: 'missing field(s)' });
  } else if (containers.length > 1) {
    errs.push({ field: 'spec.template.spec.containers', message: `expected exactly one container, got ${containers.length}` });
  }
  containers.forEach((c, i) => errs.push(...containerErrors(c, `spec.template.spec.containers[${i}]`)));
  errs.push(...revisionSpecLimitErrors(spec, opts.servingDefaults ?? COMPILED_SERVING_DEFAULTS, 'spec.template.spec'));
  const revName = template?.metadata?.name;
  if (revName !== undefined) {
    const problems = dns1035LabelErrors(revName);
    for (const m of problems) errs.push({ field: 'spec.template.metadata.name', message: `invalid value "${revName}": ${m}` });
    if (problems.length === 0 && !revName.startsWith(`${name}-`)) {
      errs.push({ field: 'spec.template.metadata.name', message: `"${revName}" must have prefix "${name}-"` });
    }
  }
  for (const e of validateScalingAnnotations(template?.metadata?.annotations, opts.autoscalerConfig)) {
    // The autoscaler names fields relative to the revision template (`metadata.annotations[<key>]`) or by key alone.
    const field = e.field.startsWith('metadata.') ? `spec.template.${e.field}` : joinField('spec.template.metadata.annotations', e.field);
    errs.push({ field, message: e.message });
  }
  const deadline = template?.metadata?.annotations?.[PROGRESS_DEADLINE_ANNOTATION];
  if (deadline !== undefined) {
    const ms = parseGoDuration(deadline.trim());
    if (ms === undefined || ms <= 0) {
      errs.push({ field: `spec.template.metadata.annotations[${PROGRESS_DEADLINE_ANNOTATION}]`, message: `invalid value "${deadline}": want a positive duration like 30s or 2m` });
    }
  }
  errs.push(...trafficErrors(name, svc.spec?.traffic ?? []));
  return errs;
}
