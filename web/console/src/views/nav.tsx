import type { Role } from "../api.ts";

/** The console's views and the roles that may open them (the API enforces the same roles on its routes). */
export const VIEWS = [
  { id: "portfolio", path: "/portfolio", label: "Portfolio", roles: ["lender", "ops"] },
  { id: "loans", path: "/loans", label: "Loans", roles: ["lender", "ops", "compliance"] },
  { id: "policies", path: "/policies", label: "Policies", roles: ["ops"] },
  { id: "settings", path: "/settings", label: "Settings", roles: ["ops"] },
  { id: "compliance", path: "/compliance", label: "Audit export", roles: ["compliance"] },
  { id: "legal", path: "/legal", label: "Hand-offs", roles: ["legal"] },
  { id: "work", path: "/work", label: "Work list", roles: ["agent"] },
] as const satisfies readonly { id: string; path: string; label: string; roles: readonly Role[] }[];

export type View = (typeof VIEWS)[number];

export const viewsOf = (role: Role): View[] =>
  VIEWS.filter((view) => (view.roles as readonly Role[]).includes(role));

export function NotAllowed({ role }: { role: Role }) {
  return (
    <section aria-labelledby="not-allowed">
      <h1 id="not-allowed">Not available</h1>
      <p>This view is not open to the {role} role.</p>
    </section>
  );
}
