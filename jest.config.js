// Unit tests run anywhere; system tests talk to Google's real emulators, started once per run by
// test/support/global-setup.ts (and stopped by global-teardown.ts).
const transform = { '^.+\\.tsx?$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } }] };
const common = { transform, testEnvironment: 'node', moduleFileExtensions: ['ts', 'js', 'json'] };

module.exports = {
  // System tests wait on real emulators (dead-lettering takes several delivery attempts).
  testTimeout: 60000,
  // A worker that has grown past this after a test file is replaced: each file's gRPC channels,
  // emulator clients and transformed modules otherwise accumulate over the ~70 files of a run.
  workerIdleMemoryLimit: '1GB',
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts', '<rootDir>/test/infra/**/*.test.ts'] },
    {
      ...common,
      displayName: 'system',
      testMatch: ['<rootDir>/test/system/**/*.test.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
};
