/**
 * Knative ContainerSource (sources.knative.dev/v1) schema and semantic validation (what Knative's webhook checks, plus
 * what the local runtime needs of the container). Pure.
 */
import { destinationSchema } from './broker.js';
import { destinationErrors } from './destination.js';
import { outOfBounds, type FieldError } from './errors.js';
import { isEnvVarName } from './names.js';
import type { JsonSchema } from './schema.js';
import { containerSchema, resourceSchema } from './schemas.js';
import { ceOverridesErrors } from './sources.js';
import type { Container, KObject } from './types.js';

const str: JsonSchema = { type: 'string' };
const stringMap: JsonSchema = { type: 'object', additionalProperties: str };

/** Environment variables the platform sets on a ContainerSource's process from `spec.sink` and `spec.ceOverrides`. */
export const CONTAINER_SOURCE_ENV_NAMES: readonly string[] = Object.freeze(['K_SINK', 'K_CE_OVERRIDES']);

/** Kubernetes' default `terminationGracePeriodSeconds`: how long a stopped process gets between SIGTERM and SIGKILL. */
export const DEFAULT_TERMINATION_GRACE_SECONDS = 30;
const MAX_TERMINATION_GRACE_SECONDS = 3600;

/** `spec` of a ContainerSource: a Deployment-like pod template, a sink and CloudEvents overrides. */
export interface ContainerSourceSpec {
  template?: {
    metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
    spec?: { containers?: Container[]; terminationGracePeriodSeconds?: number; serviceAccountName?: string };
  };
  sink?: unknown;
  ceOverrides?: { extensions?: Record<string, string> };
}

export const containerSourceSchema: JsonSchema = resourceSchema({
  type: 'object',
  properties: {
    template: {
      type: 'object',
      properties: {
        metadata: { type: 'object', properties: { labels: stringMap, annotations: stringMap } },
        spec: {
          type: 'object',
          properties: {
            containers: { type: 'array', items: containerSchema },
            terminationGracePeriodSeconds: { type: 'integer' },
            serviceAccountName: str,
          },
        },
      },
    },
    sink: destinationSchema,
    ceOverrides: { type: 'object', properties: { extensions: stringMap } },
  },
});

const CONTAINERS = 'spec.template.spec.containers';

function containerErrors(c: Container, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!c.image && !(c.command && c.command.length > 0)) {
    errs.push({ field: `${path}.command`, message: 'missing field(s): set command (and args) to run the container as a local process' });
  }
  (c.env ?? []).forEach((e, i) => {
    const field = `${path}.env[${i}].name`;
    if (!isEnvVarName(e.name)) {
      errs.push({
        field,
        message: `invalid value "${e.name}": a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit`,
      });
    } else if (CONTAINER_SOURCE_ENV_NAMES.includes(e.name)) {
      errs.push({ field, message: `"${e.name}" is set by the platform from spec.${e.name === 'K_SINK' ? 'sink' : 'ceOverrides'}` });
    }
  });
  return errs;
}

/** Semantic errors of a ContainerSource whose shape already passed `containerSourceSchema`. */
export function containerSourceErrors(source: KObject): FieldError[] {
  if (source.spec === undefined) return [{ field: 'spec', message: 'missing field(s)' }];
  const spec = source.spec as ContainerSourceSpec;
  const errs: FieldError[] = [];
  if (spec.template === undefined) {
    errs.push({ field: 'spec.template', message: 'missing field(s)' });
  } else {
    const containers = spec.template.spec?.containers ?? [];
    if (containers.length === 0) errs.push({ field: CONTAINERS, message: 'missing field(s): want exactly one container' });
    else if (containers.length > 1) errs.push({ field: CONTAINERS, message: `expected exactly one container, got ${containers.length}` });
    else containers.forEach((c, i) => errs.push(...containerErrors(c, `${CONTAINERS}[${i}]`)));
    const grace = spec.template.spec?.terminationGracePeriodSeconds;
    if (grace !== undefined && (grace < 0 || grace > MAX_TERMINATION_GRACE_SECONDS)) {
      errs.push({ field: 'spec.template.spec.terminationGracePeriodSeconds', message: outOfBounds(grace, 0, MAX_TERMINATION_GRACE_SECONDS) });
    }
  }
  errs.push(...destinationErrors(spec.sink, 'spec.sink'));
  errs.push(...ceOverridesErrors(spec.ceOverrides?.extensions));
  return errs;
}
