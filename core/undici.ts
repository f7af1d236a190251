/**
 * undici's two dispatchers the data plane uses (the activator's per-connection Client, delivery's Agent), taken
 * from their own modules instead of undici's index.
 *
 * Why: the index loads all of undici (109 modules: fetch, WebSocket, EventSource, the cache stores, the mock
 * agents, every interceptor), ~4 MB of RSS in every `wisp up` (measured with `npm run bench:rss`) for code the
 * data plane never runs. Both dispatchers are driven through `dispatch()` only, which is theirs; what the index
 * adds to them (`request`, `stream`, `pipeline`, ... on Dispatcher.prototype) is not used here. They are the very
 * classes the index exports (one CommonJS module each, cached by file name), so a module that imports `undici`
 * itself (the Kubernetes client's fetch) shares them. undici has no `exports` map: these paths are public files of
 * the package, pinned by package-lock.json; test/unit/core/undici.test.ts checks they are the index's classes.
 */
import { createRequire } from 'node:module';
import type { Agent as UndiciAgent, Client as UndiciClient } from 'undici';

const require = createRequire(import.meta.url);

export const Client = require('undici/lib/dispatcher/client.js') as typeof UndiciClient;
export type Client = UndiciClient;
export const Agent = require('undici/lib/dispatcher/agent.js') as typeof UndiciAgent;
export type Agent = UndiciAgent;
