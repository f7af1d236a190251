/** The bench starts `wisp up` exactly as the tests do. */
export { ROOT, WispProcess as WispUp, type CliResult } from '../../support/wisp.js';
