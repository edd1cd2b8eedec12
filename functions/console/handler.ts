import { fileURLToPath } from "node:url";
import { makeConsoleHandler } from "./app.ts";

/** Lambda entry for the ops console: the files built beside this bundle (`assets/`), behind `/console/`. */
export const handler = makeConsoleHandler(fileURLToPath(new URL("./assets/", import.meta.url)));
