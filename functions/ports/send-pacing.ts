import type { AuditEvent } from "../domain/audit-chain.ts";
import type { Channel } from "../domain/channels.ts";
import type { SendRates } from "../domain/send-pacing.ts";
import type { TenantSettings } from "../domain/tenant-settings.ts";

/** A tenant's settings, one versioned document. */
export interface TenantSettingsStore {
  /** The stored settings, or DEFAULT_TENANT_SETTINGS (version 0) when the tenant never stored any. */
  get(tenantId: string): Promise<TenantSettings>;
  /**
   * Stores `next` as version `previous.version + 1` if the stored settings are still at `previous.version`,
   * with `audit` appended to the tenant's chain in the same transaction; throws ConcurrentUpdateError when
   * another change got there first.
   */
  put(tenantId: string, previous: TenantSettings, next: TenantSettings, audit: AuditEvent): Promise<void>;
}

/** One channel's places of a tenant, shared by every loan and every concurrent sender. */
export interface SendPacingStore {
  /**
   * Takes one place of `channel`, paced at `rate` a second, in the earliest second from `fromSecond` on
   * (epoch seconds) that still has one, and answers that second; null when none is left before
   * `untilSecond`. Each call takes a new place: a place not used stays empty, it is never given twice.
   */
  reserve(request: {
    tenantId: string;
    channel: Channel;
    rate: number;
    fromSecond: number;
    untilSecond: number;
  }): Promise<number | null>;
}

/** What the send task needs to pace a tenant's messages. */
export interface SendPacing {
  /** The tenant's send rates; may be up to a minute old (read once per container and tenant a minute). */
  rates(tenantId: string): Promise<SendRates>;
  places: SendPacingStore;
}
