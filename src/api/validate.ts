/** Validation and defaulting of any resource kind: shape (ajv), unknown-field warnings, then each kind's semantic rules. Pure. */
import type { AutoscalerConfig } from '../../autoscaler/index.js';
import { brokerErrors, brokerSchema } from './broker.js';
import type { ServingDefaults } from './config-defaults.js';
import { configMapErrors, configMapWarnings } from './configmap.js';
import { SERVING_DEFAULTS } from './defaults.js';
import type { FieldError } from './errors.js';
import { kindOf, type KindInfo } from './kinds.js';
import { valueLimitErrors } from './documents.js';
import { dns1123LabelErrors, dns1123SubdomainErrors } from './names.js';
import { apiServerSourceErrors, apiServerSourceSchema } from './apiserversource.js';
import { containerSourceErrors, containerSourceSchema } from './containersource.js';
import { kafkaSourceErrors, kafkaSourceSchema } from './kafkasource.js';
import { pingSourceErrors, pingSourceSchema } from './pingsource.js';
import { sinkBindingErrors, sinkBindingSchema } from './sinkbinding.js';
import { checkShape, unknownFields, unknownFieldWarning, type JsonSchema } from './schema.js';
import { configMapSchema, genericSchema, serviceSchema } from './schemas.js';
import { defaultService, serviceErrors } from './service.js';
import { supportedKindsText } from './supported.js';
import { triggerErrors, triggerSchema } from './trigger.js';
import type { KObject, Service } from './types.js';

export interface ValidationResult {
  /** The defaulted object, present only when there are no errors. Unknown fields are kept in it. */
  object?: KObject;
  errors: FieldError[];
  warnings: string[];
}

export interface ValidateOptions {
  /** Accept platform-owned kinds (Revision, Route, Configuration); users may not apply them. */
  allowReadOnly?: boolean;
  /** The platform's `config-autoscaler`, for the limits it puts on scaling annotations; the autoscaler's defaults when absent. */
  autoscalerConfig?: AutoscalerConfig;
  /** The platform's `config-defaults`: a Service's defaults and limits; the compiled defaults when absent. */
  servingDefaults?: ServingDefaults;
  /**
   * Where the resource will run: `embedded` (default: Wisp's own store and local processes) or `kubernetes` (a
   * cluster's API server), which accepts more (an ApiServerSource of any kind, SinkBindings of Deployments and Jobs).
   */
  mode?: ValidationMode;
}

export type ValidationMode = 'embedded' | 'kubernetes';

export { supportedKindsText };

function schemaFor(info: KindInfo): JsonSchema {
  if (info.kind === 'Service' && info.group === 'serving.knative.dev') return serviceSchema;
  if (info.kind === 'ConfigMap' && info.group === '') return configMapSchema;
  if (info.kind === 'Broker' && info.group === 'eventing.knative.dev') return brokerSchema;
  if (info.kind === 'Trigger' && info.group === 'eventing.knative.dev') return triggerSchema;
  if (info.kind === 'PingSource' && info.group === 'sources.knative.dev') return pingSourceSchema;
  if (info.kind === 'ApiServerSource' && info.group === 'sources.knative.dev') return apiServerSourceSchema;
  if (info.kind === 'SinkBinding' && info.group === 'sources.knative.dev') return sinkBindingSchema;
  if (info.kind === 'ContainerSource' && info.group === 'sources.knative.dev') return containerSourceSchema;
  if (info.kind === 'KafkaSource' && info.group === 'sources.knative.dev') return kafkaSourceSchema;
  return genericSchema;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Resolves an object's kind, or explains why it has none. */
export function resolveKind(obj: Record<string, unknown>): { info?: KindInfo; errors: FieldError[] } {
  const { apiVersion, kind } = obj;
  const errors: FieldError[] = [];
  if (typeof apiVersion !== 'string' || !apiVersion) errors.push({ field: 'apiVersion', message: 'missing field(s)' });
  if (typeof kind !== 'string' || !kind) errors.push({ field: 'kind', message: 'missing field(s)' });
  if (errors.length > 0 || typeof apiVersion !== 'string' || typeof kind !== 'string') return { errors };
  const info = kindOf(apiVersion, kind);
  if (!info) {
    return { errors: [{ field: 'kind', message: `unknown kind "${kind}" in apiVersion "${apiVersion}"; supported kinds: ${supportedKindsText()}` }] };
  }
  return { info, errors };
}

/** Validates and defaults one resource object. Never throws on bad input. */
export function validate(obj: unknown, opts: ValidateOptions = {}): ValidationResult {
  if (!isPlainObject(obj)) return { errors: [{ field: '', message: 'expected an object with apiVersion, kind and metadata' }], warnings: [] };
  const { info, errors: kindErrors } = resolveKind(obj);
  if (!info) return { errors: kindErrors, warnings: [] };
  if (info.readOnly && !opts.allowReadOnly) {
    return {
      errors: [{ field: 'kind', message: `${info.kind} objects are created by the platform and cannot be applied; change the Service instead` }],
      warnings: [],
    };
  }
  // Before anything that recurses over the object (the unknown-field walk, ajv, structuredClone).
  const limitErrors = valueLimitErrors(obj);
  if (limitErrors.length > 0) return { errors: limitErrors, warnings: [] };
  const schema = schemaFor(info);
  const warnings = unknownFields(schema, obj).map(unknownFieldWarning);
  const shapeErrors = checkShape(schema, obj);
  if (shapeErrors.length > 0) return { errors: shapeErrors, warnings };

  let object = structuredClone(obj) as unknown as KObject;
  object.metadata.namespace ??= SERVING_DEFAULTS.defaultNamespace;
  const errors: FieldError[] = [];
  if (!object.metadata.name) errors.push({ field: 'metadata.name', message: 'missing field(s)' });
  else if (info.kind !== 'Service') {
    // Kubernetes' rule for custom resources and ConfigMaps; a Service's name is a DNS-1035 label (serviceErrors).
    for (const m of dns1123SubdomainErrors(object.metadata.name)) errors.push({ field: 'metadata.name', message: `invalid value "${object.metadata.name}": ${m}` });
  }
  for (const m of dns1123LabelErrors(object.metadata.namespace)) {
    errors.push({ field: 'metadata.namespace', message: `invalid value "${object.metadata.namespace}": ${m}` });
  }
  if (info.kind === 'Service') {
    object = defaultService(object as Service, opts.servingDefaults);
    if (errors.length === 0) {
      errors.push(
        ...serviceErrors(object as Service, {
          ...(opts.autoscalerConfig && { autoscalerConfig: opts.autoscalerConfig }),
          ...(opts.servingDefaults && { servingDefaults: opts.servingDefaults }),
        }),
      );
    }
  } else if (info.kind === 'ConfigMap') {
    errors.push(...configMapErrors(object));
    warnings.push(...configMapWarnings(object));
  } else if (info.kind === 'Broker') {
    errors.push(...brokerErrors(object));
  } else if (info.kind === 'Trigger') {
    errors.push(...triggerErrors(object));
  } else if (info.kind === 'PingSource' && info.group === 'sources.knative.dev') {
    errors.push(...pingSourceErrors(object));
  } else if (info.kind === 'ApiServerSource' && info.group === 'sources.knative.dev') {
    errors.push(...apiServerSourceErrors(object, { mode: opts.mode ?? 'embedded' }));
  } else if (info.kind === 'SinkBinding' && info.group === 'sources.knative.dev') {
    errors.push(...sinkBindingErrors(object, { mode: opts.mode ?? 'embedded' }));
  } else if (info.kind === 'ContainerSource' && info.group === 'sources.knative.dev') {
    errors.push(...containerSourceErrors(object));
  } else if (info.kind === 'KafkaSource' && info.group === 'sources.knative.dev') {
    errors.push(...kafkaSourceErrors(object));
  }
  return errors.length > 0 ? { errors, warnings } : { object, errors, warnings };
}

/** `Service "hello" is invalid: a: x; b: y` */
export function formatInvalid(kind: string, name: string, errors: readonly FieldError[]): string {
  const parts = errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message));
  return `${kind} "${name}" is invalid: ${parts.join('; ')}`;
}
