/** Broker and Trigger status as Knative's MT broker and trigger reconcilers show them. Pure: `now` is handed in. */
import type { Condition } from '../../api/types.js';
import { readyFrom, setConditions, type DesiredCondition } from '../conditions.js';

/** Where a dead-letter sink stands: not configured, resolved to a URL, or failing to resolve. */
export type DeadLetterState = { kind: 'none' } | { kind: 'resolved'; uri: string } | { kind: 'failed'; reason: string; message: string };

export const DLS_NOT_CONFIGURED: DesiredCondition = {
  type: 'DeadLetterSinkResolved',
  status: 'True',
  reason: 'DeadLetterSinkNotConfigured',
  message: 'No dead letter sink is configured.',
};

export function deadLetterCondition(dls: DeadLetterState): DesiredCondition {
  if (dls.kind === 'none') return DLS_NOT_CONFIGURED;
  if (dls.kind === 'resolved') return { type: 'DeadLetterSinkResolved', status: 'True' };
  return { type: 'DeadLetterSinkResolved', status: 'False', reason: dls.reason, message: dls.message };
}

export interface BrokerAddress {
  name: 'http';
  url: string;
}

export interface BrokerStatus {
  observedGeneration: number;
  address?: BrokerAddress;
  addresses?: BrokerAddress[];
  deadLetterSinkUri?: string;
  conditions: Condition[];
}

/** The broker's storage: served by a backend of this process, or not. */
export type BrokerBackendState =
  | { kind: 'ready'; url: string }
  | { kind: 'class-not-available'; brokerClass: string; available: readonly string[] }
  | { kind: 'backend-failed'; brokerClass: string; message: string };

export function brokerStatus(opts: {
  generation: number;
  backend: BrokerBackendState;
  deadLetter: DeadLetterState;
  previous: readonly Condition[] | undefined;
  now: number;
}): BrokerStatus {
  const { backend } = opts;
  let channel: DesiredCondition;
  let ingress: DesiredCondition = { type: 'IngressReady', status: 'True' };
  let filter: DesiredCondition = { type: 'FilterReady', status: 'True' };
  let addressable: DesiredCondition = { type: 'Addressable', status: 'True' };
  if (backend.kind === 'ready') {
    channel = { type: 'TriggerChannelReady', status: 'True' };
  } else {
    const reason = backend.kind === 'class-not-available' ? 'BrokerClassNotAvailable' : 'BackendUnavailable';
    const message =
      backend.kind === 'class-not-available'
        ? `broker class "${backend.brokerClass}" is not available in this Wisp process; available classes: ${backend.available.join(', ') || '(none)'}`
        : `the ${backend.brokerClass} backend is unavailable: ${backend.message}`;
    channel = { type: 'TriggerChannelReady', status: 'False', reason, message };
    ingress = { type: 'IngressReady', status: 'False', reason, message };
    filter = { type: 'FilterReady', status: 'False', reason, message };
    addressable = { type: 'Addressable', status: 'False', reason, message };
  }
  const dls = deadLetterCondition(opts.deadLetter);
  const dependents = [channel, ingress, filter, addressable, dls];
  const status: BrokerStatus = {
    observedGeneration: opts.generation,
    conditions: setConditions(opts.previous, [readyFrom(dependents), ...dependents], opts.now),
  };
  if (backend.kind === 'ready') {
    status.address = { name: 'http', url: backend.url };
    status.addresses = [{ name: 'http', url: backend.url }];
  }
  if (opts.deadLetter.kind === 'resolved') status.deadLetterSinkUri = opts.deadLetter.uri;
  return status;
}

export interface TriggerStatus {
  observedGeneration: number;
  subscriberUri?: string;
  deadLetterSinkUri?: string;
  conditions: Condition[];
}

/** Knative's trigger condition set, each Unknown until a step of the reconcile decides it. */
export interface TriggerConditionInput {
  broker: DesiredCondition;
  subscriber?: DesiredCondition;
  deadLetter?: DesiredCondition;
  subscription?: DesiredCondition;
}

export function triggerStatus(opts: {
  generation: number;
  conditions: TriggerConditionInput;
  subscriberUri?: string;
  deadLetterSinkUri?: string;
  previous: readonly Condition[] | undefined;
  now: number;
}): TriggerStatus {
  const c = opts.conditions;
  const dependents: DesiredCondition[] = [
    c.broker,
    c.subscriber ?? { type: 'SubscriberResolved', status: 'Unknown' },
    c.deadLetter ?? { type: 'DeadLetterSinkResolved', status: 'Unknown' },
    { type: 'DependencyReady', status: 'True' },
    c.subscription ?? { type: 'SubscriptionReady', status: 'Unknown', reason: 'SubscriptionNotConfigured', message: 'Subscription has not yet been reconciled.' },
  ];
  const status: TriggerStatus = {
    observedGeneration: opts.generation,
    conditions: setConditions(opts.previous, [readyFrom(dependents), ...dependents], opts.now),
  };
  if (opts.subscriberUri !== undefined) status.subscriberUri = opts.subscriberUri;
  if (opts.deadLetterSinkUri !== undefined) status.deadLetterSinkUri = opts.deadLetterSinkUri;
  return status;
}
