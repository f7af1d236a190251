#!/usr/bin/env node
// The `wisp` command. The TypeScript sources are compiled to dist/ by `npm install` (the prepare script).

// kafkajs 2.x schedules `setTimeout(fn, throttledUntil - Date.now())` with `throttledUntil = -1` when it is not
// throttled (kafkajs/src/network/requestQueue/index.js). Node clamps that to 1 ms, which is what kafkajs means,
// but since Node 24 it also prints a TimeoutNegativeWarning on every `wisp up` with a Kafka class. Only that
// warning is dropped; every other warning is printed by Node's own handler as before.
const printWarning = process.listeners('warning');
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (warning.name === 'TimeoutNegativeWarning') return;
  for (const print of printWarning) print(warning);
});

const { main } = await import('../dist/src/cli/main.js');
process.exitCode = await main(process.argv.slice(2));
