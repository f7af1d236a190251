/** Public surface of the resource layer: kinds, types, manifest loading, validation and defaulting. */
export type * from './types.js';
export { SOURCE_DIR_ANNOTATION } from './types.js';
export type { KindInfo } from './kinds.js';
export { KINDS, apiVersionOf, kindByName, kindOf, qualifiedSingular, resourcePath } from './kinds.js';
export type { FieldError } from './errors.js';
export { API_ERROR_CODES, ManifestError, joinField, outOfBounds } from './errors.js';
export type { LoadedObject, LoadOptions } from './load.js';
export { loadManifests, parseManifests } from './load.js';
export type { ValidateOptions, ValidationResult } from './validate.js';
export { formatInvalid, resolveKind, supportedKindsText, validate } from './validate.js';
export type { ServiceRuleOptions } from './service.js';
export { defaultService, serviceErrors } from './service.js';
export { configMapErrors, configMapWarnings, isAutoscalerConfigMap } from './configmap.js';
export { SERVING_DEFAULTS } from './defaults.js';
export { AUTOSCALER_CONFIGMAP, BROKER_CLASS_ANNOTATION, CONFIGURATION_LABEL, SERVICE_LABEL } from './labels.js';
