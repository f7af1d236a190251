/** The error root lives in the kernel (core/wisp-error.ts); this path stays for the code above it. */
export { WispError, type WispErrorOptions } from '../core/wisp-error.js';
