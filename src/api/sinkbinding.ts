/**
 * Knative SinkBinding (sources.knative.dev/v1) schema and semantic validation. Pure.
 *
 * The subject is Knative's tracker reference: `apiVersion`, `kind`, optional `namespace`, and exactly one of `name`
 * or `selector` (a label selector with `matchLabels` and/or `matchExpressions`). Locally the only workload a binding
 * can inject into is a `serving.knative.dev/v1` Service (Knative also binds Deployments, Jobs...: those do not run
 * here, so they are refused at apply time instead of being accepted and never bound). In Kubernetes mode Wisp binds
 * `apps/v1` Deployments and `batch/v1` Jobs too (src/importers/binding/kube-subjects.ts); other kinds are refused
 * with the message the Kubernetes binder gives them in status.
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

/** The subject kinds a SinkBinding can bind in Kubernetes mode. */
export const KUBERNETES_BINDABLE_SUBJECTS: readonly { apiVersion: string; kind: string }[] = [
  { apiVersion: 'apps/v1', kind: 'Deployment' },
  { apiVersion: 'batch/v1', kind: 'Job' },
  { apiVersion: 'serving.knative.dev/v1', kind: 'Service' },
];

export interface SinkBindingRuleOptions {
  /** `embedded` (default) binds only ksvcs; `kubernetes` binds Deployments and Jobs too. */
  mode?: 'embedded' | 'kubernetes';
}

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

function subjectErrors(subject: BindingSubject | undefined, namespace: string | undefined, mode: 'embedded' | 'kubernetes'): FieldError[] {
  const field = 'spec.subject';
  if (subject === undefined) return [{ field, message: 'missing field(s)' }];
  const missing = (['apiVersion', 'kind'] as const).filter((k) => subject[k] === undefined || subject[k] === '');
  if (missing.length > 0) return [{ field, message: `missing field(s): ${missing.join(', ')}` }];
  const errs: FieldError[] = [];
  const bindable = mode === 'kubernetes' ? KUBERNETES_BINDABLE_SUBJECTS : BINDABLE_SUBJECTS;
  if (!bindable.some((b) => b.apiVersion === subject.apiVersion && b.kind === subject.kind)) {
    const want = bindable.map((b) => `${b.apiVersion} ${b.kind}`);
    errs.push({
      field,
      message:
        mode === 'kubernetes'
          ? `cannot bind ${subject.apiVersion} ${subject.kind}: Wisp binds ${want.slice(0, -1).join(', ')} and ${want.at(-1) ?? ''}`
          : `cannot bind ${subject.apiVersion} ${subject.kind}: the local runtime runs only ${want.join(', ')}; bind the Service that runs the code`,
    });
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
export function sinkBindingErrors(binding: KObject, opts: SinkBindingRuleOptions = {}): FieldError[] {
  if (binding.spec === undefined) return [{ field: 'spec', message: 'missing field(s)' }];
  const spec = binding.spec as SinkBindingSpec;
  return [
    ...subjectErrors(spec.subject, binding.metadata.namespace, opts.mode ?? 'embedded'),
    ...destinationErrors(spec.sink, 'spec.sink'),
    ...ceOverridesErrors(spec.ceOverrides?.extensions),
  ];
}
