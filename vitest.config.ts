import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // ONNX sessions are CPU-heavy; two cores are all a CI machine has.
    maxWorkers: 2,
    globalSetup: ['test/global-setup.ts'],
    projects: [
      {
        extends: true,
        test: { name: 'main', include: ['test/**/*.test.ts'], exclude: ['test/serial/**'], sequence: { groupOrder: 0 } },
      },
      {
        // Tests whose outcome depends on the machine keeping up (live adaptation over emulated time)
        // run after the others, one file at a time, so parallel test files do not starve them.
        extends: true,
        test: { name: 'serial', include: ['test/serial/**/*.test.ts'], fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
