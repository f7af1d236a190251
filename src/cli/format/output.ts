/** `-o json|yaml` output. Pure. */
import { stringify } from 'yaml';
import type { KObject } from '../../api/types.js';

export type OutputFormat = 'table' | 'json' | 'yaml';

/** kubectl's list wrapper. */
export function asList(items: readonly KObject[]): { apiVersion: 'v1'; kind: 'List'; items: KObject[] } {
  return { apiVersion: 'v1', kind: 'List', items: [...items] };
}

export function formatJson(value: unknown): string {
  return JSON.stringify(value, null, 4) + '\n';
}

export function formatYaml(value: unknown): string {
  return stringify(value, { lineWidth: 0 });
}
