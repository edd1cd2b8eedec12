import type { Section } from "./report.ts";
import type { SectionContext, SectionId } from "./section-kit.ts";
import { applySection } from "./sections-apply.ts";
import { horizonSection } from "./sections-horizon.ts";
import { installmentsSection } from "./sections-installments.ts";
import { pacedSection } from "./sections-pacing.ts";
import { bundlesSection, ingestSection, latencySection, simulateSection } from "./sections-tools.ts";
import { costSection, pathsSection, throughputSection } from "./sections-workflow.ts";

export { PATH_MIX, SECTION_IDS, type SectionContext, type SectionId, TARGETS } from "./section-kit.ts";

export const sectionRunners: Record<SectionId, (ctx: SectionContext) => Promise<Section>> = {
  paths: pathsSection,
  cost: costSection,
  throughput: throughputSection,
  ingest: ingestSection,
  latency: latencySection,
  simulate: simulateSection,
  bundles: bundlesSection,
  installments: installmentsSection,
  paced: pacedSection,
  horizon: horizonSection,
  apply: applySection,
};
