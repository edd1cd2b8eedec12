import { useState } from "preact/hooks";
import { ApiError, api } from "../api.ts";
import { messageOf, Pending, useLoad } from "../load.tsx";
import { Field } from "./field.tsx";
import { type FieldErrors, fieldErrors } from "./policy-draft.ts";

interface Settings {
  sendRates: Partial<Record<"sms" | "email", number>>;
  paymentUrlTemplate: string | null;
  version: number;
  updatedAt: string | null;
  updatedBy: string | null;
}

const CHANNELS = ["sms", "email"] as const;

/** The tenant's settings (ops): send rates per channel and the lender's payment page for the borrowers' page. */
export function SettingsView() {
  const [loaded, reload] = useLoad(() => api<Settings>("GET", "/v1/settings"), []);
  // Kept here: a save reloads the settings and starts a fresh form on the new version; its outcome stays shown.
  const [note, setNote] = useState<string | null>(null);
  return (
    <section aria-labelledby="settings-title">
      <h1 id="settings-title">Settings</h1>
      <Pending loaded={loaded} />
      {loaded.state === "ready" && (
        <SettingsForm key={loaded.data.version} stored={loaded.data} onSaved={reload} onNote={setNote} />
      )}
      {note && <p role="status">{note}</p>}
    </section>
  );
}

interface FormProps {
  stored: Settings;
  onSaved: () => void;
  onNote: (note: string | null) => void;
}

function SettingsForm({ stored, onSaved, onNote: setNote }: FormProps) {
  const [rates, setRates] = useState<Record<string, string>>(
    Object.fromEntries(CHANNELS.map((c) => [c, stored.sendRates[c] ? String(stored.sendRates[c]) : ""])),
  );
  const [paymentUrl, setPaymentUrl] = useState(stored.paymentUrlTemplate ?? "");
  const [errors, setErrors] = useState<FieldErrors>(new Map());
  const save = async (event: Event) => {
    event.preventDefault();
    setErrors(new Map());
    const sendRates = Object.fromEntries(
      CHANNELS.filter((c) => rates[c]?.trim()).map((c) => [c, Number(rates[c])]),
    );
    try {
      const saved = await api<Settings>("PUT", "/v1/settings", {
        sendRates,
        paymentUrlTemplate: paymentUrl.trim() || null,
      });
      setNote(`Saved as version ${saved.version}.`);
      onSaved();
    } catch (error) {
      if (error instanceof ApiError) setErrors(fieldErrors(error.details));
      setNote(`Not saved: ${messageOf(error)}`);
    }
  };
  return (
    <form class="stack" onSubmit={save} noValidate>
      <p>
        Version {stored.version}
        {stored.updatedBy ? `, by ${stored.updatedBy} at ${stored.updatedAt}` : ""}. A channel left empty is
        not paced.
      </p>
      {CHANNELS.map((channel) => (
        <Field
          key={channel}
          id={`sendRates.${channel}`}
          label={`${channel} a second, at most`}
          errors={errors}
          showLabel
        >
          <input
            type="number"
            min={1}
            max={1000}
            value={rates[channel]}
            onInput={(e) => setRates({ ...rates, [channel]: (e.target as HTMLInputElement).value })}
          />
        </Field>
      ))}
      <Field
        id="paymentUrlTemplate"
        label="Payment page ({loanReference} is the loan's id)"
        errors={errors}
        showLabel
      >
        <input value={paymentUrl} onInput={(e) => setPaymentUrl((e.target as HTMLInputElement).value)} />
      </Field>
      <button type="submit">Save settings</button>
    </form>
  );
}
