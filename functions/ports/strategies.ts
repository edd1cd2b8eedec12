import type { AuditEvent } from "../domain/audit-chain.ts";
import type { Strategy } from "../domain/strategies/strategy.ts";

/** Which strategy decides a tenant's new loans, since when and by whom. */
export interface ActiveStrategy {
  id: string;
  since: string;
  by: string;
}

/** Strategies as versioned data, like policies: every version immutable, changes audited in the tenant's chain. */
export interface StrategyStore {
  /** The given version, or the newest when none is given; null when there is none. */
  get(tenantId: string, strategyId: string, version?: number): Promise<Strategy | null>;
  /**
   * Stores a new version (and, when `active` is given, which strategy is active: a strategy id, or null for none),
   * with `audit` appended to the tenant's chain in the same transaction. False when that version exists already.
   */
  putVersion(
    tenantId: string,
    strategy: Strategy,
    audit: AuditEvent,
    active?: ActiveStrategy | null,
  ): Promise<boolean>;
  /** Which strategy decides the tenant's new loans; null when none does. */
  active(tenantId: string): Promise<ActiveStrategy | null>;
}
