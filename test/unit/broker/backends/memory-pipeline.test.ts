import { MemoryBackend } from '../../../../broker/backends/index.js';
import { systemClock } from '../../../../src/clock.js';
import { describeDeliveryPipelineContract } from '../../../contract/delivery-pipeline.js';

describeDeliveryPipelineContract('MemoryBackend', async () => {
  const backend = new MemoryBackend({ clock: systemClock });
  return { backend, cleanup: () => backend.close() };
});
