/** The dispatcher: one consumer per Trigger, filter, deliver with retries, replies, dead letters. */
export { Dispatcher } from './dispatcher.js';
export type { DispatcherOptions } from './dispatcher.js';
export { createTriggerHandler, NO_RESPONSE_ERROR_CODE } from './handler.js';
export type { DispatcherLogger, HandlerDeps } from './handler.js';
export { DispatcherMetrics } from './metrics.js';
export type { TriggerLabels } from './metrics.js';
export { parseReply } from './reply.js';
export type { ReplyParse } from './reply.js';
