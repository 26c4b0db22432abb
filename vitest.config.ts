import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // ONNX sessions are CPU-heavy; two cores are all a CI machine has.
    maxWorkers: 2,
    globalSetup: ['test/global-setup.ts'],
  },
});
