import type { Channel } from "../domain/channels.ts";
import { isQuietDay, nextOpenDay } from "../domain/contact-rules.ts";
import { isInsideWindow, nextAllowedInstant } from "../domain/contact-window.ts";
import { findStep, rulesOf, type StepStage } from "../domain/policy.ts";
import {
  instantOfSecond,
  pacedChannels,
  reservationEnd,
  type SendRates,
  type SendSlot,
  secondOf,
  slotCovers,
} from "../domain/send-pacing.ts";
import { deferStep, type StepDecision } from "../domain/step-lifecycle.ts";
import { toInstant } from "../domain/time.ts";
import type { SendPacing, SendPacingStore, TenantSettingsStore } from "../ports/send-pacing.ts";
import { type Loaded, type SendingDeps, writeChange } from "./step-sending.ts";

/** What pacing needs: the tenant's rates and places (absent: nothing is paced), and the case store to defer. */
export interface PacingDeps extends Pick<SendingDeps, "cases" | "clock"> {
  pacing?: SendPacing;
}

/** Where a paced step goes instead of out at once: to a later second (with its place), or to a later day. */
export interface PacedWake {
  phase: StepStage;
  step: string;
  at: string;
  /** The place taken, carried to the send at `at` so it goes out on it without taking another. */
  slot?: SendSlot;
}

/** Rounds of agreeing one second for several paced channels before looking again from the latest one. */
const MAX_AGREEMENT_ROUNDS = 4;

/**
 * Paces a step the rules of contact let go now. Null: send now — the tenant paces none of its channels, the
 * workflow comes back on the place this step took (`carried`), or the place taken is in the current second.
 * Otherwise the step waits for the second of its place; when today's window (or the policy's `maxLateness`)
 * has no place left, it is deferred to the next window opening, on the record (`step_deferred`, rule
 * `send_capacity`). Unpaced tenants cost no write, and one read per container and minute (the rates).
 */
export async function paceSend(
  deps: PacingDeps,
  loaded: Loaded,
  decision: Extract<StepDecision, { kind: "send" }>,
  now: Date,
  carried: { phase?: string; step?: string; slot?: SendSlot } | undefined,
): Promise<PacedWake | null> {
  if (!deps.pacing) return null;
  const { loanCase, policy } = loaded;
  const rates = await deps.pacing.rates(loanCase.tenantId);
  const paced = pacedChannels(decision.channels, rates);
  if (paced.length === 0) return null;
  if (carried?.step === decision.step.id && slotCovers(carried.slot, paced)) return null;
  const zone = loanCase.borrower.timeZone;
  const from = secondOf(now);
  const until = reservationEnd(now, zone, policy, { id: decision.step.id, plannedAt: decision.plannedAt });
  const place = await takePlace(deps.pacing.places, loanCase.tenantId, paced, rates, from, secondOf(until));
  const step = { phase: decision.step.stage, step: decision.step.id };
  if (place === null) {
    const opening = toInstant(nextOpenDay(now, zone, policy.contactWindow, rulesOf(policy)));
    const deferral = { ...decision, kind: "defer" as const, until: opening, rule: "send_capacity" as const };
    await writeChange(deps, loaded, deferStep(loanCase, deferral, now));
    return { ...step, at: opening };
  }
  if (place.second <= from) return null;
  const at = instantOfSecond(place.second);
  return { ...step, at, ...(place.agreed ? { slot: { at, channels: paced } } : {}) };
}

/**
 * One place in the same second on every paced channel of the step: each channel takes the earliest from the
 * latest second found so far, until they agree (a place left behind stays empty: a few holes beat a second
 * over the rate). Not agreed after a few rounds: the latest second, without a place, to look again then.
 */
async function takePlace(
  places: SendPacingStore,
  tenantId: string,
  channels: readonly Channel[],
  rates: SendRates,
  fromSecond: number,
  untilSecond: number,
): Promise<{ second: number; agreed: boolean } | null> {
  let target = fromSecond;
  const held = new Map<Channel, number>();
  for (let round = 0; round < MAX_AGREEMENT_ROUNDS; round++) {
    for (const channel of channels) {
      if (held.get(channel) === target) continue;
      const rate = rates[channel] as number;
      const second = await places.reserve({ tenantId, channel, rate, fromSecond: target, untilSecond });
      if (second === null) return null;
      held.set(channel, second);
      target = Math.max(target, second);
    }
    if (channels.every((channel) => held.get(channel) === target)) return { second: target, agreed: true };
  }
  return { second: target, agreed: false };
}

/**
 * A step whose send was throttled goes out again inside the contact window only: outside it (the retries ran
 * past its end) or on a quiet day, the instant it may resume; null when it may go now.
 */
export function resumeOfThrottled(loaded: Loaded, now: Date): PacedWake | null {
  const { loanCase, policy } = loaded;
  const step = loanCase.inFlight && findStep(policy, loanCase.inFlight.step);
  if (!step) return null;
  const zone = loanCase.borrower.timeZone;
  const rules = rulesOf(policy);
  let at = now;
  if (!isInsideWindow(at, zone, policy.contactWindow))
    at = nextAllowedInstant(at, zone, policy.contactWindow);
  if (isQuietDay(at, zone, rules)) at = nextOpenDay(at, zone, policy.contactWindow, rules);
  return at === now ? null : { phase: step.stage, step: step.id, at: toInstant(at) };
}

/**
 * The tenant's send rates as the send task reads them: once per tenant and container for `ttlMs` (a minute),
 * so a change of settings reaches every sender within that, and an unpaced tenant costs one read a minute. A
 * burst of sends waking together shares the one read in flight instead of each making its own. The minute is
 * the container's own (`performance.now`), not the business clock: where the clock runs faster than time
 * (the embedded stack's virtual clock), days of business time still reach the store once a real minute.
 */
export function ratesPerContainer(
  settings: Pick<TenantSettingsStore, "get">,
  ttlMs = 60_000,
  now: () => number = () => performance.now(),
): SendPacing["rates"] {
  const cache = new Map<string, { rates: Promise<SendRates>; until: number }>();
  return (tenantId) => {
    const hit = cache.get(tenantId);
    if (hit && hit.until > now()) return hit.rates;
    const rates = settings.get(tenantId).then(({ sendRates }) => sendRates);
    const entry = { rates, until: now() + ttlMs };
    cache.set(tenantId, entry);
    // A failed read is not kept: the next send reads again.
    rates.catch(() => {
      if (cache.get(tenantId) === entry) cache.delete(tenantId);
    });
    return rates;
  };
}
