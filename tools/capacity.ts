/** `npm run capacity -- [options]`: see tools/capacity-command.ts and the README's "Capacity plan". */

import { capacityProgram } from "./capacity-command.ts";
import { runCli } from "./cli-io.ts";

await runCli(capacityProgram(), { name: "capacity" });
