import * as undici from 'undici';
import { describe, expect, it } from 'vitest';
import { Agent, Client } from '../../../core/undici.js';

// core/undici.ts takes the two dispatchers from their own modules (no full undici index at start-up): they must be
// the very classes undici's index exports, so instanceof checks and the index's prototype methods agree.
describe('core/undici', () => {
  it('exports the same Client and Agent classes as the undici index', () => {
    expect(Client).toBe(undici.Client);
    expect(Agent).toBe(undici.Agent);
  });

  it('makes dispatchers of undici’s Dispatcher class', async () => {
    const agent = new Agent();
    const client = new Client('http://127.0.0.1:1');
    expect(agent).toBeInstanceOf(undici.Dispatcher);
    expect(client).toBeInstanceOf(undici.Dispatcher);
    await Promise.all([agent.close(), client.close()]);
  });
});
