import { describe, expect, it } from 'vitest';
import { SOURCE_DIR_ANNOTATION } from '../../../src/api/types.js';
import { loadManifests, parseManifests } from '../../../src/api/load.js';

const svc = (name: string, sourceDir?: string) => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: { name, namespace: 'default', ...(sourceDir && { annotations: { [SOURCE_DIR_ANNOTATION]: sourceDir, keep: 'me' } }), uid: 'u', resourceVersion: '3' },
  spec: { template: { spec: { containers: [{ command: ['node', 'hello.js'] }] } } },
  status: { observedGeneration: 1 },
});

describe('manifests: Lists and carried source-dirs', () => {
  it('keeps a source-dir the input carries, and sets the file folder where it carries none', () => {
    const text = `${JSON.stringify(svc('a', '/srv/functions'))}\n---\n${JSON.stringify(svc('b'))}\n`;
    const loaded = parseManifests(text, '-', '/tmp/elsewhere');
    expect(loaded.map((l) => [l.source, l.object.metadata.name, l.object.metadata.annotations?.[SOURCE_DIR_ANNOTATION]])).toEqual([
      ['-#0', 'a', '/srv/functions'],
      ['-#1', 'b', '/tmp/elsewhere'],
    ]);
    expect(loaded[0]?.object.metadata.annotations?.['keep']).toBe('me');
  });

  it('applies a kind: List item by item, next to plain documents', () => {
    const list = { apiVersion: 'v1', kind: 'List', items: [svc('a', '/srv/a'), svc('b')] };
    const text = `${JSON.stringify(list)}\n---\n${JSON.stringify(svc('c'))}\n`;
    const loaded = parseManifests(text, 'all.yaml', '/here');
    expect(loaded.map((l) => [l.source, l.object.metadata.name, l.object.metadata.annotations?.[SOURCE_DIR_ANNOTATION]])).toEqual([
      ['all.yaml#0.items[0]', 'a', '/srv/a'],
      ['all.yaml#0.items[1]', 'b', '/here'],
      ['all.yaml#1', 'c', '/here'],
    ]);
  });

  it('names the List item at fault', () => {
    const bad = { apiVersion: 'v1', kind: 'List', items: [svc('a'), { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: {} }] };
    expect(() => parseManifests(JSON.stringify(bad), '-', '/')).toThrow('-#0.items[1]: missing metadata.name');
    expect(() => parseManifests('apiVersion: v1\nkind: List\n', '-', '/')).toThrow('-#0: a List needs items: a list of objects');
    expect(() => parseManifests('apiVersion: v1\nkind: List\nitems: [3]\n', '-', '/')).toThrow('-#0.items[0]: document is not an object (got number)');
  });

  it('reads stdin like src/api does (an empty List is nothing to apply)', async () => {
    const { objects } = await loadManifests(['-'], { stdin: 'apiVersion: v1\nkind: List\nitems: []\n', cwd: '/tmp' });
    expect(objects).toEqual([]);
  });
});
