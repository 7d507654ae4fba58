/** Tests run TypeScript directly; integration suites start real local services, so they run one file at a time. */
module.exports = {
  testEnvironment: '<rootDir>/test/support/nodeEnvironment.js',
  roots: ['<rootDir>/test'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  testTimeout: 60000,
  maxWorkers: 2,
};
