/** Knative ApiServerSource (sources.knative.dev/v1) schema and semantic validation (what Knative's webhook checks). Pure. */
import { destinationSchema } from './broker.js';
import { destinationErrors } from './destination.js';
import type { FieldError } from './errors.js';
import { kindOf } from './kinds.js';
import type { JsonSchema } from './schema.js';
import { resourceSchema } from './schemas.js';
import { labelSelectorErrors, labelSelectorSchema, type LabelSelector } from './selector.js';
import type { KObject } from './types.js';
import { ceOverridesErrors } from './sources.js';

const str: JsonSchema = { type: 'string' };

export const API_SERVER_SOURCE_MODES = ['Reference', 'Resource'] as const;

export const apiServerSourceSchema: JsonSchema = resourceSchema({
  type: 'object',
  properties: {
    resources: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          apiVersion: str,
          kind: str,
          selector: labelSelectorSchema,
        },
      },
    },
    // Knative's ResourceOwner: only objects whose controller is of this apiVersion/kind.
    owner: { type: 'object', properties: { apiVersion: str, kind: str } },
    mode: str,
    serviceAccountName: str,
    // Kubernetes mode: the namespaces to watch (empty: all); without it, the source's own.
    namespaceSelector: labelSelectorSchema,
    sink: destinationSchema,
    ceOverrides: { type: 'object', properties: { extensions: { type: 'object', additionalProperties: str } } },
  },
});

interface ResourceSpec {
  apiVersion?: string;
  kind?: string;
  selector?: LabelSelector;
}

interface ApiServerSpec {
  resources?: ResourceSpec[];
  namespaceSelector?: LabelSelector;
  mode?: string;
  sink?: unknown;
  ceOverrides?: { extensions?: Record<string, string> };
}

/**
 * Where the source's resources live: `embedded` watches Wisp's own control API, so only the kinds Wisp serves can be
 * watched; `kubernetes` watches the cluster, where any kind is fine (one the cluster does not serve shows in status).
 */
export interface ApiServerSourceRuleOptions {
  mode?: 'embedded' | 'kubernetes';
}

function resourceErrors(resources: ResourceSpec[] | undefined, mode: 'embedded' | 'kubernetes'): FieldError[] {
  if (resources === undefined || resources.length === 0) return [{ field: 'spec.resources', message: 'missing field(s): want at least one resource' }];
  const errs: FieldError[] = [];
  resources.forEach((r, i) => {
    const field = `spec.resources[${i}]`;
    const missing = (['apiVersion', 'kind'] as const).filter((k) => r[k] === undefined || r[k] === '');
    if (missing.length > 0) {
      errs.push({ field, message: `missing field(s): ${missing.join(', ')}` });
      return;
    }
    if (mode === 'embedded' && !kindOf(r.apiVersion ?? '', r.kind ?? '')) errs.push({ field, message: `unknown kind "${r.kind}" in "${r.apiVersion}"` });
    errs.push(...labelSelectorErrors(r.selector, `${field}.selector`));
  });
  return errs;
}

/** Semantic errors of an ApiServerSource whose shape already passed `apiServerSourceSchema`. */
export function apiServerSourceErrors(source: KObject, opts: ApiServerSourceRuleOptions = {}): FieldError[] {
  if (source.spec === undefined) return [{ field: 'spec', message: 'missing field(s)' }];
  const spec = source.spec as ApiServerSpec;
  const errs = resourceErrors(spec.resources, opts.mode ?? 'embedded');
  if (spec.mode !== undefined && !(API_SERVER_SOURCE_MODES as readonly string[]).includes(spec.mode)) {
    errs.push({ field: 'spec.mode', message: `invalid value "${spec.mode}": want "Reference" or "Resource"` });
  }
  errs.push(...labelSelectorErrors(spec.namespaceSelector, 'spec.namespaceSelector'));
  errs.push(...destinationErrors(spec.sink, 'spec.sink'));
  errs.push(...ceOverridesErrors(spec.ceOverrides?.extensions));
  return errs;
}
