/** Trigger filters: `filter.attributes` and the Subscriptions API dialects (incl. CESQL). */
export { compileTriggerFilter, compileAttributesFilter } from './compile.js';
export type { TriggerFilterSpec } from './compile.js';
export { validateTriggerFilters, validateSubscriptionsAPIFilter, ATTRIBUTE_NAME } from './validate.js';
export type { FilterFieldError } from './validate.js';
export { CONTEXT_ATTRIBUTES, attributeString } from './attributes.js';
