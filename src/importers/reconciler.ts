/**
 * Importers' reconciler for PingSource: resolves each source's `spec.sink` like a Trigger subscriber, runs one
 * PingSourceRunner per resolvable source (restarted when what it sends or where changes), and writes status.
 * Reacts to PingSource changes and to the Brokers and Services sinks refer to. Deleting a source stops its events.
 * The watch/queue/sink/status skeleton is SourceReconciler's; this file says what a PingSource runs.
 */
import type { Destination } from '../../broker/types.js';
import type { KObject } from '../api/types.js';
import type { ScheduleError, SourceDeliveryError, SourceOverloadedError } from './errors.js';
import { PingSourceRunner, type PingDeliveryPolicy, type PingOutcome, type PingRunSpec } from './ping/runner.js';
import { isKnownTimeZone, scheduleProblem } from './ping/schedule.js';
import { kindNamed, SourceReconciler, type SendingSourceOptions, type SourcePlan } from './source-reconciler.js';
import { pingSourceStatus } from './status.js';

/** `spec` of a PingSource (sources.knative.dev/v1). */
export interface PingSourceSpec {
  schedule?: string;
  timezone?: string;
  contentType?: string;
  data?: string;
  dataBase64?: string;
  sink?: Destination;
  ceOverrides?: { extensions?: Record<string, string> };
}

export interface ImportersReconcilerOptions extends SendingSourceOptions<PingDeliveryPolicy, PingOutcome> {
  /** Event ids; default random UUIDs. */
  newId?: () => string;
}

const PINGSOURCES = kindNamed('pingsources.sources.knative.dev');

/** What a PingSource runs, or why it cannot (an invalid schedule or time zone). */
function plan(source: KObject, sinkUri: string): SourcePlan<PingRunSpec> {
  const spec = (source.spec ?? {}) as PingSourceSpec;
  const schedule = spec.schedule ?? '';
  const problem = schedule === '' ? 'spec.schedule is not set' : scheduleProblem(schedule);
  const zoneProblem = spec.timezone !== undefined && !isKnownTimeZone(spec.timezone) ? `unknown time zone "${spec.timezone}"` : undefined;
  if (problem !== undefined || zoneProblem !== undefined) return { problem: { reason: 'InvalidSchedule', message: problem ?? zoneProblem ?? '' } };
  return {
    runSpec: {
      namespace: source.metadata.namespace,
      name: source.metadata.name,
      schedule,
      ...(spec.timezone !== undefined ? { timezone: spec.timezone } : {}),
      payload: {
        ...(spec.contentType !== undefined ? { contentType: spec.contentType } : {}),
        ...(spec.data !== undefined ? { data: spec.data } : {}),
        ...(spec.dataBase64 !== undefined ? { dataBase64: spec.dataBase64 } : {}),
        ...(spec.ceOverrides?.extensions !== undefined ? { extensions: spec.ceOverrides.extensions } : {}),
      },
      sinkUri,
    },
  };
}

export class ImportersReconciler extends SourceReconciler<PingRunSpec, PingSourceRunner> {
  constructor(options: ImportersReconcilerOptions) {
    const o = options;
    super({
      store: o.store,
      clock: o.clock,
      ...(o.onError !== undefined ? { onError: o.onError } : {}),
      ...(o.coreServices !== undefined ? { coreServices: o.coreServices } : {}),
      source: {
        kind: PINGSOURCES,
        label: 'pingsource',
        waitingForSink: 'The schedule runs once the sink resolves.',
        plan,
        createRunner: (key, spec) => {
          const onOutcome = o.onOutcome;
          return new PingSourceRunner({
            spec,
            clock: o.clock,
            sender: o.sender,
            ...(o.delivery !== undefined ? { delivery: o.delivery } : {}),
            ...(o.newId !== undefined ? { newId: o.newId } : {}),
            ...(onOutcome !== undefined ? { onOutcome: (out: PingOutcome) => onOutcome(key, out) } : {}),
            onError: (err: SourceDeliveryError | SourceOverloadedError | ScheduleError) => o.onError?.(`pingsource ${key}`, err),
          });
        },
        status: (source, state) =>
          pingSourceStatus({ namespace: source.metadata.namespace, name: source.metadata.name, generation: source.metadata.generation ?? 1, ...state }),
      },
    });
  }
}
