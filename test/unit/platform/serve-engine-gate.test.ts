import { describe, expect, it } from 'vitest';
import { ScaleGate, type GateEngine } from '../../../src/platform/serve-engine/index.js';

/** The narrow GateEngine, driven by the test: a flip to the activator completes when the test says so. */
class FlipRecorder implements GateEngine {
  closed = false;
  served = new Set<string>();
  events: string[] = [];
  #pending: (() => void)[] = [];
  serving(key: string): boolean {
    return this.served.has(key);
  }
  holdProxy(key: string, replicas: number): Promise<() => void> {
    this.events.push(`hold ${key} for ${replicas}`);
    return new Promise((resolve) => this.#pending.push(() => resolve(() => this.events.push(`release ${key}`))));
  }
  applyFlips(): void {
    for (const f of this.#pending.splice(0)) f();
  }
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('serve engine: the scale gate', () => {
  it('lets scale-ups and scale-downs of revisions on the activator through at once', () => {
    const engine = new FlipRecorder();
    const gate = new ScaleGate({ scale: (k, n) => engine.events.push(`scale ${k} ${n}`) }, engine);
    gate.scale('default/a', 1);
    gate.scale('default/a', 3);
    gate.scale('default/a', 0);
    expect(engine.events).toEqual(['scale default/a 1', 'scale default/a 3', 'scale default/a 0']);
  });

  it('scales a served revision down only after its hosts point at the activator, and keeps later calls in order', async () => {
    const engine = new FlipRecorder();
    engine.served.add('default/a');
    const gate = new ScaleGate({ scale: (k, n) => engine.events.push(`scale ${k} ${n}`) }, engine);
    gate.scale('default/a', 2);
    gate.scale('default/a', 0);
    gate.scale('default/a', 1); // a poke while the flip is under way: after the scale-down, never before it
    await settle();
    expect(engine.events).toEqual(['scale default/a 2', 'hold default/a for 0']);
    engine.applyFlips();
    await settle();
    expect(engine.events).toEqual(['scale default/a 2', 'hold default/a for 0', 'scale default/a 0', 'release default/a', 'scale default/a 1']);
  });
});
