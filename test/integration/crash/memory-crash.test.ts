import { describe, expect, it } from 'vitest';
import { crashScenario } from './scenario.js';

describe('Memory class across kill -9 (crash test, reports its loss)', () => {
  it('reports how many accepted events a SIGKILL loses', async () => {
    const outcome = await crashScenario({ env: {}, brokerClass: 'Memory', expectAll: false });
    console.log(
      `Memory crash test: ${outcome.sent} sent, ${outcome.accepted.size} accepted, ${outcome.lost.length} lost (in memory when killed), ${outcome.duplicates} duplicates`,
    );
    // The in-memory class promises nothing across a crash; what it must not do is invent or repeat events.
    expect(outcome.accepted.size).toBeGreaterThan(0);
    expect(outcome.duplicates).toBe(0);
    expect([...outcome.delivered.keys()].every((id) => outcome.accepted.has(id))).toBe(true);
  }, 120_000);
});
