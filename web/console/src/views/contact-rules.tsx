import { Field } from "./field.tsx";
import type { DraftPart, Policy } from "./policy-draft.ts";

interface Rules {
  caps: { smsPerDay: number; contactsPer7Days: number };
  quietDates: string[];
  quietWeekdays: number[];
  fallback: boolean;
  capsPer: "loan" | "borrower";
}

/** What a policy stored before contact rules existed runs under (the product's defaults). */
const DEFAULTS: Rules = {
  caps: { smsPerDay: 1, contactsPer7Days: 7 },
  quietDates: [],
  quietWeekdays: [],
  fallback: true,
  capsPer: "loan",
};
const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

const inputValue = (event: Event) => (event.target as HTMLInputElement).value;

/** The rules of contact: the window, the caps and what they count, quiet days, channel fallback. */
export function ContactRulesEditor({ draft, errors, onChange }: DraftPart) {
  const rules: Rules = { ...DEFAULTS, ...((draft.contactRules as Partial<Rules> | undefined) ?? {}) };
  const setRules = (change: Partial<Rules>) =>
    onChange({ ...draft, contactRules: { ...rules, ...change } } as Policy);
  const setWindow = (bound: "start" | "end", value: string) =>
    onChange({ ...draft, contactWindow: { ...draft.contactWindow, [bound]: value } });
  const setCap = (cap: keyof Rules["caps"], value: string) =>
    setRules({ caps: { ...rules.caps, [cap]: Number(value) } });
  return (
    <fieldset class="rules">
      <legend>Rules of contact (borrower's local time)</legend>
      <Field id="contactWindow.start" label="Window opens" errors={errors} showLabel>
        <input
          type="time"
          value={draft.contactWindow.start}
          onInput={(e) => setWindow("start", inputValue(e))}
        />
      </Field>
      <Field id="contactWindow.end" label="Window closes" errors={errors} showLabel>
        <input type="time" value={draft.contactWindow.end} onInput={(e) => setWindow("end", inputValue(e))} />
      </Field>
      <Field id="contactRules.caps.smsPerDay" label="SMS a day at most" errors={errors} showLabel>
        <input
          type="number"
          min={0}
          value={rules.caps.smsPerDay}
          onInput={(e) => setCap("smsPerDay", inputValue(e))}
        />
      </Field>
      <Field
        id="contactRules.caps.contactsPer7Days"
        label="Contacts in any 7 days at most"
        errors={errors}
        showLabel
      >
        <input
          type="number"
          min={0}
          value={rules.caps.contactsPer7Days}
          onInput={(e) => setCap("contactsPer7Days", inputValue(e))}
        />
      </Field>
      <Field id="contactRules.capsPer" label="The caps count" errors={errors} showLabel>
        <select
          value={rules.capsPer}
          onChange={(e) => setRules({ capsPer: inputValue(e) as Rules["capsPer"] })}
        >
          <option value="loan">each loan's contacts</option>
          <option value="borrower">the borrower's contacts on all loans</option>
        </select>
      </Field>
      <Field
        id="contactRules.quietDates"
        label="Quiet dates (YYYY-MM-DD, comma-separated)"
        errors={errors}
        showLabel
      >
        <input
          value={rules.quietDates.join(", ")}
          onChange={(e) =>
            setRules({
              quietDates: inputValue(e)
                .split(",")
                .map((d) => d.trim())
                .filter(Boolean),
            })
          }
        />
      </Field>
      <fieldset>
        <legend>Quiet weekdays</legend>
        {WEEKDAYS.map((name, i) => (
          <label key={name} class="check">
            <input
              type="checkbox"
              checked={rules.quietWeekdays.includes(i + 1)}
              onChange={(e) =>
                setRules({
                  quietWeekdays: (e.target as HTMLInputElement).checked
                    ? [...rules.quietWeekdays, i + 1].sort()
                    : rules.quietWeekdays.filter((d) => d !== i + 1),
                })
              }
            />
            {name}
          </label>
        ))}
      </fieldset>
      <label class="check">
        <input
          type="checkbox"
          checked={rules.fallback}
          onChange={(e) => setRules({ fallback: (e.target as HTMLInputElement).checked })}
        />
        When a channel cannot reach the borrower, use the other
      </label>
    </fieldset>
  );
}
