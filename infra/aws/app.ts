// CDK CLI entry (cdk.json "app"): build the app; the CLI synthesises it when the process exits.
import { buildApp } from "./build-app.ts";

buildApp();
