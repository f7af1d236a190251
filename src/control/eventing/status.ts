/** Broker and Trigger status as Knative's MT broker and trigger reconcilers show them. Pure: `now` is handed in. */
import type { Condition } from '../../api/types.js';
import { MAX_BACKLOG_ANNOTATION, type TriggerBacklog } from '../../../broker/types.js';
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

/**
 * The broker's backlog cap as the status shows it: `limited` (Memory, Redis) with the triggers at their limit and
 * any problem with the annotation, or `unlimited` (Kafka: retention decides).
 */
export type BrokerBacklogState =
  | { kind: 'limited'; limit: number; full: readonly TriggerBacklog[]; annotationProblem?: string }
  | { kind: 'unlimited'; brokerClass: string };

/**
 * `BacklogWithinLimit`: False (reason `BacklogFull`) while a Trigger has as many events waiting as the limit, so the
 * ingress answers 503 + Retry-After. Not a dependent of Ready: the broker works and its triggers keep consuming (a
 * Ready=False would stop them); Ready stays True but carries the reason, so `wisp get brokers` shows it.
 */
export function backlogCondition(state: BrokerBacklogState): DesiredCondition {
  if (state.kind === 'unlimited') {
    return {
      type: 'BacklogWithinLimit',
      status: 'True',
      reason: 'NoBacklogLimit',
      message: `${state.brokerClass}-class Brokers keep events as their store's retention says; ${MAX_BACKLOG_ANNOTATION} does not apply.`,
    };
  }
  const note = state.annotationProblem !== undefined ? ` (${state.annotationProblem})` : '';
  if (state.full.length === 0) {
    return { type: 'BacklogWithinLimit', status: 'True', reason: 'BacklogWithinLimit', message: `At most ${state.limit} events wait per Trigger${note}.` };
  }
  const triggers = state.full.map((t) => t.trigger).join(', ');
  const which = state.full.length === 1 ? `Trigger ${triggers} is` : `Triggers ${triggers} are`;
  return {
    type: 'BacklogWithinLimit',
    status: 'False',
    reason: 'BacklogFull',
    message: `${which} at the backlog limit of ${state.limit} events waiting${note}: the ingress answers 503 with Retry-After until the subscriber catches up.`,
  };
}

export function brokerStatus(opts: {
  generation: number;
  backend: BrokerBackendState;
  deadLetter: DeadLetterState;
  /** Absent: no backlog condition (the broker has no backend here). */
  backlog?: BrokerBacklogState;
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
  const ready = readyFrom(dependents);
  const extra: DesiredCondition[] = [];
  if (opts.backlog !== undefined && backend.kind === 'ready') {
    const backlog = backlogCondition(opts.backlog);
    extra.push(backlog);
    if (ready.status === 'True' && backlog.status === 'False') {
      ready.reason = backlog.reason as string;
      ready.message = backlog.message as string;
    }
  }
  const status: BrokerStatus = {
    observedGeneration: opts.generation,
    conditions: setConditions(opts.previous, [ready, ...dependents, ...extra], opts.now),
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
