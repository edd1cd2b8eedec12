import { useState } from "preact/hooks";
import { Field } from "./field.tsx";
import type { DraftPart, Policy, PolicyStep } from "./policy-draft.ts";

interface HandOff {
  offsetDays: number;
  at: string;
  minDaysAfterFirstContact?: number;
  afterMissedInstallments?: number;
}
interface Charges {
  lateFee: string;
  lateFeeAfterDays: number;
  dailyPenaltyRate: string;
  capPercentOfPrincipal: string;
}
interface SelfService {
  maxPromiseDays: number;
  linkDays: number;
  planApproval: "automatic" | "lender";
  [offers: string]: unknown;
}

const NO_CHARGES: Charges = {
  lateFee: "0",
  lateFeeAfterDays: 1,
  dailyPenaltyRate: "0",
  capPercentOfPrincipal: "0",
};
const inputValue = (event: Event) => (event.target as HTMLInputElement).value;
/** An empty number input leaves the field out of the draft: the API's default applies. */
const optionalNumber = (value: string) => (value === "" ? undefined : Number(value));

/** A labelled whole-number input; empty gives undefined (the field left out: the API's default applies). */
function NumberField(props: {
  id: string;
  label: string;
  errors: DraftPart["errors"];
  value: number | undefined;
  min: number;
  onValue: (value: number | undefined) => void;
}) {
  return (
    <Field id={props.id} label={props.label} errors={props.errors} showLabel>
      <input
        type="number"
        min={props.min}
        value={props.value ?? ""}
        onInput={(e) => props.onValue(optionalNumber(inputValue(e)))}
      />
    </Field>
  );
}

/** When a case goes to legal: days past due and time, notice before it, missed installments. */
export function HandOffEditor({ draft, errors, onChange }: DraftPart) {
  const handOff = draft.handOff as HandOff;
  const set = (change: Partial<HandOff>) => {
    const next = { ...handOff, ...change };
    for (const key of Object.keys(next) as (keyof HandOff)[]) if (next[key] === undefined) delete next[key];
    onChange({ ...draft, handOff: next });
  };
  return (
    <fieldset class="rules">
      <legend>Hand-off to legal</legend>
      <NumberField
        id="handOff.offsetDays"
        label="Days past due"
        errors={errors}
        value={handOff.offsetDays}
        min={1}
        onValue={(value) => set({ offsetDays: value ?? 0 })}
      />
      <Field id="handOff.at" label="At (borrower's time)" errors={errors} showLabel>
        <input type="time" value={handOff.at} onInput={(e) => set({ at: inputValue(e) })} />
      </Field>
      <NumberField
        id="handOff.minDaysAfterFirstContact"
        label="Days after the first message reached the borrower, at least (default 14)"
        errors={errors}
        value={handOff.minDaysAfterFirstContact}
        min={0}
        onValue={(value) => set({ minDaysAfterFirstContact: value })}
      />
      <NumberField
        id="handOff.afterMissedInstallments"
        label="Missed installments that hand it off (empty: days alone)"
        errors={errors}
        value={handOff.afterMissedInstallments}
        min={1}
        onValue={(value) => set({ afterMissedInstallments: value })}
      />
    </fieldset>
  );
}

/** Late fee and daily penalty with their cap; none at all unless ops add them. */
export function ChargesEditor({ draft, errors, onChange }: DraftPart) {
  const charges = draft.charges as Charges | undefined;
  if (!charges) {
    return (
      <fieldset class="rules">
        <legend>Charges</legend>
        <p>This policy charges no fees or interest.</p>
        <button type="button" onClick={() => onChange({ ...draft, charges: NO_CHARGES })}>
          Add charges
        </button>
      </fieldset>
    );
  }
  const set = (change: Partial<Charges>) => onChange({ ...draft, charges: { ...charges, ...change } });
  const { charges: _dropped, ...withoutCharges } = draft;
  return (
    <fieldset class="rules">
      <legend>Charges</legend>
      <Field id="charges.lateFee" label="Late fee (loan's currency)" errors={errors} showLabel>
        <input value={charges.lateFee} onInput={(e) => set({ lateFee: inputValue(e) })} />
      </Field>
      <NumberField
        id="charges.lateFeeAfterDays"
        label="Late fee after days past due"
        errors={errors}
        value={charges.lateFeeAfterDays}
        min={1}
        onValue={(value) => set({ lateFeeAfterDays: value ?? 0 })}
      />
      <Field id="charges.dailyPenaltyRate" label="Daily penalty rate" errors={errors} showLabel>
        <input value={charges.dailyPenaltyRate} onInput={(e) => set({ dailyPenaltyRate: inputValue(e) })} />
      </Field>
      <Field
        id="charges.capPercentOfPrincipal"
        label="Fees and interest at most (% of principal)"
        errors={errors}
        showLabel
      >
        <input
          value={charges.capPercentOfPrincipal}
          onInput={(e) => set({ capPercentOfPrincipal: inputValue(e) })}
        />
      </Field>
      <button type="button" class="secondary" onClick={() => onChange(withoutCharges as Policy)}>
        Remove charges
      </button>
    </fieldset>
  );
}

/** What borrowers may do on their page: how far a promise may reach, how long a link works, plan approval. */
export function SelfServiceEditor({ draft, errors, onChange }: DraftPart) {
  const selfService = draft.selfService as SelfService | undefined;
  if (!selfService) return null;
  const set = (change: Partial<SelfService>) =>
    onChange({ ...draft, selfService: { ...selfService, ...change } });
  return (
    <fieldset class="rules">
      <legend>Borrowers' page</legend>
      <NumberField
        id="selfService.maxPromiseDays"
        label="A promise may name at most (days ahead)"
        errors={errors}
        value={selfService.maxPromiseDays}
        min={1}
        onValue={(value) => set({ maxPromiseDays: value ?? 0 })}
      />
      <NumberField
        id="selfService.linkDays"
        label="A link works for (days)"
        errors={errors}
        value={selfService.linkDays}
        min={1}
        onValue={(value) => set({ linkDays: value ?? 0 })}
      />
      <Field id="selfService.planApproval" label="A plan asked for is" errors={errors} showLabel>
        <select
          value={selfService.planApproval}
          onChange={(e) =>
            set({ planApproval: (e.target as HTMLSelectElement).value as SelfService["planApproval"] })
          }
        >
          <option value="automatic">applied at once</option>
          <option value="lender">sent to the lender to approve</option>
        </select>
      </Field>
    </fieldset>
  );
}

/** A new step: its id and stage, day and time, channels and template; the API checks it with the rest. */
export function AddStep({ draft, onChange }: Omit<DraftPart, "errors">) {
  const templates = Object.keys(draft.templates ?? {});
  const [step, setStep] = useState<PolicyStep>({
    id: "",
    stage: "soft_collection",
    offsetDays: 1,
    sendAt: draft.contactWindow.start,
    channels: ["sms"],
    template: templates[0] ?? "",
  });
  const set = (change: Partial<PolicyStep>) => setStep({ ...step, ...change });
  const add = (event: Event) => {
    event.preventDefault();
    const steps = [...draft.steps, step].sort((a, b) => a.offsetDays - b.offsetDays);
    onChange({ ...draft, steps });
    setStep({ ...step, id: "" });
  };
  return (
    <form class="inline add-step" onSubmit={add} aria-label="Add a step">
      <label for="new-step-id">New step's id</label>
      <input id="new-step-id" required value={step.id} onInput={(e) => set({ id: inputValue(e) })} />
      <label for="new-step-stage">its stage</label>
      <select
        id="new-step-stage"
        value={step.stage}
        onChange={(e) => set({ stage: (e.target as HTMLSelectElement).value })}
      >
        <option value="pre_due">pre_due</option>
        <option value="soft_collection">soft_collection</option>
      </select>
      <label for="new-step-day">its day</label>
      <input
        id="new-step-day"
        type="number"
        value={step.offsetDays}
        onInput={(e) => set({ offsetDays: Number(inputValue(e)) })}
      />
      <label for="new-step-time">its time</label>
      <input
        id="new-step-time"
        type="time"
        value={step.sendAt}
        onInput={(e) => set({ sendAt: inputValue(e) })}
      />
      <label for="new-step-channels">its channels</label>
      <select
        id="new-step-channels"
        value={step.channels.join(",")}
        onChange={(e) => set({ channels: (e.target as HTMLSelectElement).value.split(",") })}
      >
        <option value="sms">sms</option>
        <option value="email">email</option>
        <option value="sms,email">sms and email</option>
      </select>
      <label for="new-step-template">its template</label>
      <select
        id="new-step-template"
        value={step.template}
        onChange={(e) => set({ template: (e.target as HTMLSelectElement).value })}
      >
        {templates.map((t) => (
          <option key={t} value={t}>
            {t}
          </option>
        ))}
      </select>
      <button type="submit">Add the step</button>
    </form>
  );
}
