/** The serve engine (`wisp up --serve-engine haproxy`): haproxy serves warm revisions, the activator the rest. */
export { ServeEngine, ENGINE_STATS_SOURCE } from './engine.js';
export type { ServeEngineOptions, EngineAutoscaler } from './engine.js';
export { findHaproxy, HaproxyProcess, HAPROXY_INSTALL_HINT } from './haproxy.js';
export { modeOf, servableHosts } from './mode.js';
export type { ModeInput, ServeMode } from './mode.js';
export { renderConfig, renderMap, backendName, keyOfBackend, ACTIVATOR_BACKEND, DEFAULT_SLOTS, DEFAULT_MAXCONN } from './config.js';
export type { EngineConfig, BackendSpec } from './config.js';
export { masterCommand, parseShowProc, parseBackendLoad, refusals } from './cli.js';
export { ERROR_CODES, ServeEngineModeError, ServeEngineBinaryError, ServeEngineStartError, ServeEngineCommandError } from './errors.js';
export type { ServeEngineErrorCode } from './errors.js';
export { LoadWindow } from './stats.js';
export type { LoadReport } from './stats.js';
export { ScaleGate } from './gate.js';
export type { GateEngine } from './gate.js';
