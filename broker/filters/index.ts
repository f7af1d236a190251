/** Trigger filters: `filter.attributes` and the Subscriptions API dialects (incl. CESQL). */
export { compileTriggerFilter, compileAttributesFilter } from './compile.js';
export type { CompileOptions, TriggerFilterSpec } from './compile.js';
export { FilterTooDeepError, FILTER_ERROR_CODES } from './errors.js';
export { validateTriggerFilters, validateSubscriptionsAPIFilter, ATTRIBUTE_NAME } from './validate.js';
export type { FilterFieldError, FilterValidationOptions } from './validate.js';
export { CONTEXT_ATTRIBUTES, attributeString } from './attributes.js';
