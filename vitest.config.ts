import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Integration suites start emulators on their own ports; two workers fit two cores.
    maxWorkers: 2,
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
