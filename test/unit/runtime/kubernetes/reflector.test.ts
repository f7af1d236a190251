import { describe, expect, it } from 'vitest';
import { Reflector, type ListResult, type ListWatchSource, type WatchHandle } from '../../../../src/runtime/kubernetes/reflector.js';
import { ManualClock } from '../../../support/clock.js';

interface Obj {
  metadata: { name: string; namespace: string; resourceVersion: string; labels: { rev: string } };
}

const obj = (name: string, rev: string, rv: string): Obj => ({ metadata: { name, namespace: 'ns', resourceVersion: rv, labels: { rev } } });

interface OpenWatch {
  rv: string;
  emit(type: string, o: unknown): void;
  end(err?: unknown): void;
  stopped: boolean;
}

/** A scripted API: each list() takes the next answer (a result or an error); each watch() is recorded and driven by the test. */
class FakeSource implements ListWatchSource<Obj> {
  readonly what = 'things';
  lists: (ListResult<Obj> | Error)[] = [];
  listCalls = 0;
  watches: OpenWatch[] = [];
  watchErrors: unknown[] = [];

  async list(): Promise<ListResult<Obj>> {
    this.listCalls += 1;
    const next = this.lists.shift();
    if (next === undefined) throw new Error('no list scripted');
    if (next instanceof Error) throw next;
    return next;
  }

  async watch(rv: string, onEvent: (type: string, o: unknown) => void, done: (err: unknown) => void): Promise<WatchHandle> {
    const err = this.watchErrors.shift();
    if (err !== undefined) {
      done(err);
      return { stop: () => undefined };
    }
    const w: OpenWatch = { rv, emit: onEvent, end: (e) => done(e ?? null), stopped: false };
    this.watches.push(w);
    return { stop: () => ((w.stopped = true), done(null)) };
  }

  parse(o: unknown): Obj | undefined {
    return (o as Obj).metadata?.name ? (o as Obj) : undefined;
  }
}

const tick = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
};

function setup(): { src: FakeSource; clock: ManualClock; r: Reflector<Obj>; changes: string[][]; errors: string[] } {
  const src = new FakeSource();
  const clock = new ManualClock();
  const changes: string[][] = [];
  const errors: string[] = [];
  const r = new Reflector<Obj>({
    source: src,
    clock,
    keyOf: (o) => `ns/${o.metadata.labels.rev}`,
    onChange: (keys) => changes.push([...keys].sort()),
    onError: (err, during) => errors.push(`${during}: ${err instanceof Error ? err.message : String(err)}`),
    backoff: { initialMs: 100, maxMs: 400 },
  });
  return { src, clock, r, changes, errors };
}

describe('Reflector (list + watch)', () => {
  it('lists, then watches from the list resourceVersion; events update the index', async () => {
    const { src, r, changes } = setup();
    src.lists.push({ items: [obj('a', 'r1', '5'), obj('b', 'r2', '6')], resourceVersion: '10' });
    await r.start();
    expect(r.byKey('ns/r1').map((o) => o.metadata.name)).toEqual(['a']);
    await tick();
    expect(src.watches[0]?.rv).toBe('10');
    src.watches[0]?.emit('ADDED', obj('c', 'r1', '11'));
    src.watches[0]?.emit('MODIFIED', obj('b', 'r1', '12'));
    src.watches[0]?.emit('DELETED', obj('a', 'r1', '13'));
    src.watches[0]?.emit('BOOKMARK', { metadata: { resourceVersion: '14' } });
    expect(r.byKey('ns/r1').map((o) => o.metadata.name).sort()).toEqual(['b', 'c']);
    expect(r.byKey('ns/r2')).toEqual([]);
    expect(r.resourceVersion).toBe('14');
    expect(changes).toEqual([['ns/r1', 'ns/r2'], ['ns/r1'], ['ns/r1', 'ns/r2'], ['ns/r1']]);
    await r.stop();
  });

  it('a watch that ends is resumed from the last resourceVersion, without a list', async () => {
    const { src, clock, r } = setup();
    src.lists.push({ items: [], resourceVersion: '10' });
    await r.start();
    await tick();
    src.watches[0]?.emit('ADDED', obj('a', 'r1', '20'));
    clock.advance(5_000);
    src.watches[0]?.end();
    await tick();
    expect(src.watches[1]?.rv).toBe('20');
    expect(src.listCalls).toBe(1);
    await r.stop();
  });

  it('410 Gone (status code or ERROR event) lists again; a fresh list drops what was deleted meanwhile', async () => {
    const { src, clock, r, changes } = setup();
    src.lists.push({ items: [obj('a', 'r1', '5'), obj('b', 'r2', '6')], resourceVersion: '10' });
    src.lists.push({ items: [obj('b', 'r2', '6')], resourceVersion: '30' });
    src.lists.push({ items: [obj('b', 'r2', '6'), obj('d', 'r3', '41')], resourceVersion: '40' });
    await r.start();
    await tick();
    clock.advance(2_000);
    src.watches[0]?.emit('ERROR', { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' });
    await tick();
    expect(src.listCalls).toBe(2);
    expect(r.byKey('ns/r1')).toEqual([]);
    expect(changes.at(-1)).toEqual(['ns/r1']);
    expect(src.watches[1]?.rv).toBe('30');
    clock.advance(2_000);
    src.watches[1]?.end(Object.assign(new Error('Gone'), { statusCode: 410 }));
    await tick();
    expect(src.listCalls).toBe(3);
    expect(r.byKey('ns/r3').length).toBe(1);
    await r.stop();
  });

  it('keeps trying with doubling back-off while the API server is down, and reports each failure', async () => {
    const { src, clock, r, errors } = setup();
    src.lists.push(new Error('connect ECONNREFUSED'), new Error('connect ECONNREFUSED'), new Error('connect ECONNREFUSED'));
    src.lists.push({ items: [obj('a', 'r1', '1')], resourceVersion: '2' });
    let synced = false;
    void r.start().then(() => (synced = true));
    await tick();
    expect(src.listCalls).toBe(1);
    await clock.advanceAsync(100, 10);
    expect(src.listCalls).toBe(2);
    await clock.advanceAsync(199, 10);
    expect(src.listCalls).toBe(2);
    await clock.advanceAsync(1, 1);
    expect(src.listCalls).toBe(3);
    await clock.advanceAsync(400, 10);
    expect(src.listCalls).toBe(4);
    await tick();
    expect(synced).toBe(true);
    expect(errors).toEqual(['list: connect ECONNREFUSED', 'list: connect ECONNREFUSED', 'list: connect ECONNREFUSED']);
    // Then the watch fails the same way: back-off again, resuming from the same resourceVersion.
    clock.advance(2_000);
    src.watchErrors.push(new Error('connect ECONNREFUSED'));
    src.watches[0]?.end(new Error('socket hang up'));
    await tick();
    expect(errors.slice(3)).toEqual(['watch: socket hang up']);
    await clock.advanceAsync(100, 10);
    expect(errors.slice(3)).toEqual(['watch: socket hang up', 'watch: connect ECONNREFUSED']);
    expect(src.watches.length).toBe(1);
    await clock.advanceAsync(200, 10);
    expect(src.watches.length).toBe(2);
    expect(src.watches.at(-1)?.rv).toBe('2');
    expect(src.listCalls).toBe(4);
    await r.stop();
  });

  it('a client-side idle timeout resumes at once and is not an error; stop() ends the loop', async () => {
    const { src, r, errors } = setup();
    src.lists.push({ items: [], resourceVersion: '1' });
    await r.start();
    await tick();
    src.watches[0]?.end(Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' }));
    await tick();
    expect(src.watches.length).toBe(2);
    expect(errors).toEqual([]);
    await r.stop();
    expect(src.watches[1]?.stopped).toBe(true);
    await tick();
    expect(src.watches.length).toBe(2);
  });
});
