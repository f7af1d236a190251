import type { LogLine } from '../types.js';

/** Splits a byte stream into lines; keeps the partial last line until more data or flush(). Pure. */
export class LineSplitter {
  #partial = '';
  readonly #maxLine: number;

  constructor(opts: { maxLine?: number } = {}) {
    this.#maxLine = opts.maxLine ?? 16 * 1024;
  }

  push(chunk: string): string[] {
    const parts = (this.#partial + chunk).split('\n');
    this.#partial = parts.pop() ?? '';
    const out = parts.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
    // A line that never ends is emitted in pieces rather than growing without bound.
    while (this.#partial.length > this.#maxLine) {
      out.push(this.#partial.slice(0, this.#maxLine));
      this.#partial = this.#partial.slice(this.#maxLine);
    }
    return out;
  }

  flush(): string[] {
    const rest = this.#partial;
    this.#partial = '';
    return rest === '' ? [] : [rest];
  }
}

/** A fixed-size ring of the most recent items. */
export class Ring<T> {
  readonly #items: T[] = [];
  #start = 0;

  constructor(readonly capacity: number) {}

  push(item: T): void {
    if (this.capacity <= 0) return;
    if (this.#items.length < this.capacity) this.#items.push(item);
    else {
      this.#items[this.#start] = item;
      this.#start = (this.#start + 1) % this.capacity;
    }
  }

  toArray(): T[] {
    return [...this.#items.slice(this.#start), ...this.#items.slice(0, this.#start)];
  }
}

interface Entry {
  seq: number;
  line: LogLine;
}

/** Log lines per revision (ring buffers) and live followers per service. */
export class LogStore {
  readonly #capacity: number;
  readonly #byRevision = new Map<string, { serviceKey: string; ring: Ring<Entry> }>();
  readonly #followers = new Map<string, Set<(line: LogLine) => void>>();
  #seq = 0;

  readonly #onListenerError: ((err: unknown) => void) | undefined;

  constructor(opts: { capacity: number; onListenerError?: (err: unknown) => void }) {
    this.#capacity = opts.capacity;
    this.#onListenerError = opts.onListenerError;
  }

  static serviceKey(namespace: string, service: string): string {
    return `${namespace}/${service}`;
  }

  add(revisionKey: string, serviceKey: string, line: LogLine): void {
    let buf = this.#byRevision.get(revisionKey);
    if (!buf) {
      buf = { serviceKey, ring: new Ring<Entry>(this.#capacity) };
      this.#byRevision.set(revisionKey, buf);
    }
    buf.ring.push({ seq: ++this.#seq, line });
    for (const l of this.#followers.get(serviceKey) ?? []) {
      try {
        l(line);
      } catch (err) {
        this.#onListenerError?.(err);
      }
    }
  }

  forget(revisionKey: string): void {
    this.#byRevision.delete(revisionKey);
  }

  lines(serviceKey: string): LogLine[] {
    const all: Entry[] = [];
    for (const b of this.#byRevision.values()) if (b.serviceKey === serviceKey) all.push(...b.ring.toArray());
    return all.sort((a, b) => a.seq - b.seq).map((e) => e.line);
  }

  follow(serviceKey: string, listener: (line: LogLine) => void): () => void {
    let set = this.#followers.get(serviceKey);
    if (!set) {
      set = new Set();
      this.#followers.set(serviceKey, set);
    }
    set.add(listener);
    return () => {
      const s = this.#followers.get(serviceKey);
      s?.delete(listener);
      if (s?.size === 0) this.#followers.delete(serviceKey);
    };
  }
}
