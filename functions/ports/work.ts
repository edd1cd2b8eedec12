import type { WorkItem } from "../domain/work/work-items.ts";

/** The collection team's work items, per tenant. */
export interface WorkItemStore {
  /** The tenant's open items (leased or not), in no particular order. */
  open(tenantId: string): Promise<WorkItem[]>;
  get(tenantId: string, id: string): Promise<WorkItem | null>;
  /**
   * Stores `next` (its version one above `expectedVersion`) if the stored item is still at that version; false when
   * another change got there first.
   */
  replace(next: WorkItem, expectedVersion: number): Promise<boolean>;
  /** Stores a new item (an agent's callback); false when an item with its id exists. */
  create(item: WorkItem): Promise<boolean>;
}

/** A placement of cases with an outside agency, as ops made it (and recalled it). */
export interface Placement {
  id: string;
  tenantId: string;
  agencyId: string;
  /** The cases placed (those refused are not listed). */
  loanIds: string[];
  pauseMessages: boolean;
  status: "active" | "recalled";
  createdAt: string;
  createdBy: string;
  recalledAt?: string;
}

export interface PlacementStore {
  get(tenantId: string, id: string): Promise<Placement | null>;
  put(placement: Placement): Promise<void>;
}
