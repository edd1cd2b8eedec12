// Capacity worker bootstrap: the worker is TypeScript, so tsx is registered in this thread before it is loaded.
import { register } from "tsx/esm/api";

register();
await import("./worker.ts");
