/** Public surface of the eventing control plane: the Broker/Trigger reconciler and its pure helpers. */
export type { EventingReconcilerOptions, TriggerDispatcher } from './reconciler.js';
export { EventingReconciler, maxInFlightOf } from './reconciler.js';
export type { AddressableLookup, Resolution } from './destination.js';
export { addressOf, refersTo, resolveDestination } from './destination.js';
export type { BrokerAddress, BrokerBackendState, BrokerStatus, DeadLetterState, TriggerConditionInput, TriggerStatus } from './status.js';
export { brokerStatus, deadLetterCondition, triggerStatus } from './status.js';
