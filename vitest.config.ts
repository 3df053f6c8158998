import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Integration suites start emulators on their own ports; two workers fit two cores.
    maxWorkers: 2,
    // The lockfile pins an SDK that supports Node 20 (see README); keep its Node 22 notice out of test output.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
