/**
 * Knative SinkBinding (sources.knative.dev/v1) schema and semantic validation. Pure.
 *
 * The subject is Knative's tracker reference: `apiVersion`, `kind`, optional `namespace`, and exactly one of `name`
 * or `selector` (a label selector with `matchLabels` and/or `matchExpressions`). Locally the only workload a binding
 * can inject into is a `serving.knative.dev/v1` Service (Knative also binds Deployments, Jobs...: those do not run
 * here, so they are refused at apply time instead of being accepted and never bound).
 */
import { destinationSchema } from './broker.js';
import { destinationErrors } from './destination.js';
import type { FieldError } from './errors.js';
import { labelSelectorErrors, labelSelectorSchema, type LabelSelector } from './selector.js';
import type { JsonSchema } from './schema.js';
import { resourceSchema } from './schemas.js';
import { ceOverridesErrors } from './sources.js';
import type { KObject } from './types.js';

const str: JsonSchema = { type: 'string' };

/** The subject kinds a SinkBinding can bind on this platform. */
export const BINDABLE_SUBJECTS: readonly { apiVersion: string; kind: string }[] = [{ apiVersion: 'serving.knative.dev/v1', kind: 'Service' }];

export const sinkBindingSchema: JsonSchema = resourceSchema({
  type: 'object',
  properties: {
    subject: {
      type: 'object',
      properties: { apiVersion: str, kind: str, namespace: str, name: str, selector: labelSelectorSchema },
    },
    sink: destinationSchema,
    ceOverrides: { type: 'object', properties: { extensions: { type: 'object', additionalProperties: str } } },
  },
});

/** `spec.subject` of a SinkBinding. */
export interface BindingSubject {
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  selector?: LabelSelector;
}

interface SinkBindingSpec {
  subject?: BindingSubject;
  sink?: unknown;
  ceOverrides?: { extensions?: Record<string, string> };
}

function subjectErrors(subject: BindingSubject | undefined, namespace: string | undefined): FieldError[] {
  const field = 'spec.subject';
  if (subject === undefined) return [{ field, message: 'missing field(s)' }];
  const missing = (['apiVersion', 'kind'] as const).filter((k) => subject[k] === undefined || subject[k] === '');
  if (missing.length > 0) return [{ field, message: `missing field(s): ${missing.join(', ')}` }];
  const errs: FieldError[] = [];
  if (!BINDABLE_SUBJECTS.some((b) => b.apiVersion === subject.apiVersion && b.kind === subject.kind)) {
    const want = BINDABLE_SUBJECTS.map((b) => `${b.apiVersion} ${b.kind}`).join(', ');
    errs.push({ field, message: `cannot bind ${subject.apiVersion} ${subject.kind}: the local runtime runs only ${want}; bind the Service that runs the code` });
  }
  const hasName = subject.name !== undefined && subject.name !== '';
  const hasSelector = subject.selector !== undefined;
  if (hasName === hasSelector) errs.push({ field, message: hasName ? 'expected exactly one, got both: name, selector' : 'expected exactly one: name, selector' });
  if (hasSelector) errs.push(...labelSelectorErrors(subject.selector, `${field}.selector`));
  if (subject.namespace !== undefined && namespace !== undefined && subject.namespace !== namespace) {
    errs.push({ field: `${field}.namespace`, message: `must be the binding's own namespace "${namespace}"` });
  }
  return errs;
}

/** Semantic errors of a SinkBinding whose shape already passed `sinkBindingSchema`. */
export function sinkBindingErrors(binding: KObject): FieldError[] {
  if (binding.spec === undefined) return [{ field: 'spec', message: 'missing field(s)' }];
  const spec = binding.spec as SinkBindingSpec;
  return [
    ...subjectErrors(spec.subject, binding.metadata.namespace),
    ...destinationErrors(spec.sink, 'spec.sink'),
    ...ceOverridesErrors(spec.ceOverrides?.extensions),
  ];
}
