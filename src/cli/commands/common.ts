/** Helpers shared by the commands. */
import { KINDS, kindByName, type KindInfo } from '../../api/kinds.js';
import { ApiError, UsageError } from '../errors.js';

/** The kind a user typed (`ksvc`, `services`, `Service`, `services.serving.knative.dev`); misuse when unknown. */
export function kindArg(name: string): KindInfo {
  const info = kindByName(name);
  if (!info) {
    const known = KINDS.map((k) => k.plural).join(', ');
    throw new UsageError(`wisp: unknown resource type "${name}"; known types: ${known}`);
  }
  return info;
}

/** `services.serving.knative.dev`, `configmaps`: how kubectl names a resource in errors. */
export function qualifiedPlural(info: KindInfo): string {
  return info.group ? `${info.plural}.${info.group}` : info.plural;
}

/** A 404 without a proper Status (e.g. a plain router 404) becomes kubectl's `... "name" not found`. */
export function withNotFound(err: unknown, info: KindInfo, name: string): unknown {
  if (err instanceof ApiError && err.statusCode === 404 && (err.status.reason === undefined || err.status.reason === '')) {
    return new ApiError(404, {
      kind: 'Status',
      code: 404,
      reason: 'NotFound',
      message: `${qualifiedPlural(info)} "${name}" not found`,
      details: { name, group: info.group, kind: info.plural },
    });
  }
  return err;
}
