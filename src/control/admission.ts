/** Admission rules that need the store (validation that only looks at the object lives in src/api). */
import type { FieldError } from '../api/errors.js';
import { KINDS, type KindInfo } from '../api/kinds.js';
import { BROKER_CLASS_ANNOTATION, SERVICE_LABEL } from '../api/labels.js';
import type { KObject, Service } from '../api/types.js';

/** What admission reads: objects by kind, namespace and name. `Store` fits. */
export interface AdmissionReader {
  get(kind: KindInfo, namespace: string, name: string): KObject | undefined;
  list(kind: KindInfo, namespace?: string): KObject[];
}

function kind(name: string): KindInfo {
  const info = KINDS.find((k) => k.kind === name);
  if (!info) throw new Error(`kinds.ts lost ${name}`);
  return info;
}

/**
 * A Service's traffic may pin revisions that exist (or the revision its own template names).
 *
 * Decision: Knative accepts such a Service and later reports `RevisionMissing` in its status. We reject at apply
 * time instead, because a CLI user then sees the mistake at once, with the names of the revisions that do exist.
 */
function serviceTrafficErrors(reader: AdmissionReader, svc: Service): FieldError[] {
  const ns = svc.metadata.namespace;
  const name = svc.metadata.name;
  const pinned = (svc.spec?.traffic ?? []).map((t, i) => ({ t, i })).filter(({ t }) => t.revisionName);
  if (pinned.length === 0) return [];
  const revisions = reader
    .list(kind('Revision'), ns)
    .filter((r) => r.metadata.labels?.[SERVICE_LABEL] === name)
    .map((r) => r.metadata.name);
  const own = svc.spec?.template?.metadata?.name;
  const errs: FieldError[] = [];
  for (const { t, i } of pinned) {
    const rev = t.revisionName as string;
    if (rev === own || revisions.includes(rev)) continue;
    const known = revisions.length > 0 ? revisions.join(', ') : '(none yet)';
    errs.push({ field: `spec.traffic[${i}].revisionName`, message: `revision "${rev}" not found; revisions of service "${name}": ${known}` });
  }
  return errs;
}

/** Knative's broker class is immutable: a different backend would strand the events already stored. */
function brokerClassErrors(reader: AdmissionReader, broker: KObject): FieldError[] {
  const old = reader.get(kind('Broker'), broker.metadata.namespace, broker.metadata.name);
  if (!old) return [];
  const was = old.metadata.annotations?.[BROKER_CLASS_ANNOTATION];
  const now = broker.metadata.annotations?.[BROKER_CLASS_ANNOTATION];
  if (was === now) return [];
  return [
    {
      field: `metadata.annotations.${BROKER_CLASS_ANNOTATION}`,
      message: `field is immutable: was ${was === undefined ? 'unset' : `"${was}"`}, now ${now === undefined ? 'unset' : `"${now}"`}; delete and re-create the Broker to change its class`,
    },
  ];
}

/** Knative's Trigger webhook makes `spec.broker` immutable: the Trigger's consumer belongs to that broker's storage. */
function triggerBrokerErrors(reader: AdmissionReader, trigger: KObject): FieldError[] {
  const old = reader.get(kind('Trigger'), trigger.metadata.namespace, trigger.metadata.name);
  if (!old) return [];
  const was = (old.spec as { broker?: unknown } | undefined)?.broker;
  const now = (trigger.spec as { broker?: unknown } | undefined)?.broker;
  if (was === now) return [];
  return [
    {
      field: 'spec.broker',
      message: `field is immutable: was "${String(was)}", now "${String(now)}"; delete and re-create the Trigger to move it to another Broker`,
    },
  ];
}

/** Store-aware rules for a validated, defaulted object about to be applied. Empty list = admitted. */
export function admit(reader: AdmissionReader, obj: KObject): FieldError[] {
  if (obj.apiVersion === 'serving.knative.dev/v1' && obj.kind === 'Service') return serviceTrafficErrors(reader, obj as Service);
  if (obj.apiVersion === 'eventing.knative.dev/v1' && obj.kind === 'Broker') return brokerClassErrors(reader, obj);
  if (obj.apiVersion === 'eventing.knative.dev/v1' && obj.kind === 'Trigger') return triggerBrokerErrors(reader, obj);
  return [];
}
