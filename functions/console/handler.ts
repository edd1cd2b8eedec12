import { fileURLToPath } from "node:url";
import { makeConsoleHandler } from "./app.ts";

/** Lambda entry for the ops console: the files built beside this bundle (`assets/`), behind `/console/`. */
// CONSOLE_CONNECT_SRC: the export bucket's origin, which the console downloads exports from to verify them.
const connectSources = (process.env.CONSOLE_CONNECT_SRC ?? "").split(" ").filter(Boolean);
export const handler = makeConsoleHandler(
  fileURLToPath(new URL("./assets/", import.meta.url)),
  connectSources,
);
