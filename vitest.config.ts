import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    env: {
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      POWERTOOLS_LOG_LEVEL: "WARN",
      POWERTOOLS_METRICS_DISABLED: "true",
    },
    projects: [
      // No I/O beyond the process: domain, adapters against mocked clients, CDK templates.
      {
        extends: true,
        test: { name: "unit", include: ["test/unit/**/*.test.ts", "test/infra/**/*.test.ts"] },
      },
      // Against one DynamoDB Local for the whole run; every test file makes its own tables.
      {
        extends: true,
        test: {
          name: "io",
          include: ["test/integration/**/*.test.ts", "test/workflows/**/*.test.ts", "test/e2e/**/*.test.ts"],
          globalSetup: ["test/support/global-setup.ts"],
        },
      },
    ],
  },
});
