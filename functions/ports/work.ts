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
