import { useEffect, useState } from "preact/hooks";
import { ApiError, api } from "../api.ts";
import { messageOf, Pending, useLoad } from "../load.tsx";
import { ContactRulesEditor } from "./contact-rules.tsx";
import { Field, FieldError } from "./field.tsx";
import {
  type DraftPart,
  type FieldErrors,
  fieldErrors,
  type Policy,
  putBody,
  withStep,
} from "./policy-draft.ts";
import { ApplicationProgress, PolicyHistory } from "./policy-history.tsx";
import { AddStep, ChargesEditor, HandOffEditor, SelfServiceEditor } from "./policy-terms.tsx";
import { TemplateEditor } from "./template-editor.tsx";
import { WhatIf } from "./what-if.tsx";

const CHANNELS = ["sms", "email"];

/** Ops edit a policy's timing and texts, see what the change would do, then save it for new loans or in flight. */
export function PolicyEditorView() {
  const [policyId, setPolicyId] = useState("default");
  const [loaded, reload] = useLoad(
    () => api<Policy>("GET", `/v1/policies/${encodeURIComponent(policyId)}`),
    [policyId],
  );
  // Kept here: a save reloads the policy and starts a fresh editor on the new version; its outcome stays shown.
  const [note, setNote] = useState<string | null>(null);
  const [job, setJob] = useState<string | null>(null);
  return (
    <section aria-labelledby="policy-title">
      <h1 id="policy-title">Policy {policyId}</h1>
      <div class="inline">
        <label for="policy-id">Policy id</label>
        <input
          id="policy-id"
          value={policyId}
          onChange={(e) => setPolicyId((e.target as HTMLInputElement).value)}
        />
      </div>
      <Pending loaded={loaded} />
      {loaded.state === "ready" && (
        <Editor
          key={`${loaded.data.id}@${loaded.data.version}`}
          current={loaded.data}
          onSaved={reload}
          onNote={setNote}
          onJob={setJob}
        />
      )}
      {note && <p role="status">{note}</p>}
      {job && <ApplicationProgress policyId={policyId} jobId={job} />}
      {loaded.state === "ready" && <PolicyHistory policyId={policyId} version={loaded.data.version} />}
    </section>
  );
}

interface EditorProps {
  current: Policy;
  onSaved: () => void;
  onNote: (note: string | null) => void;
  onJob: (jobId: string | null) => void;
}

function Editor({ current, onSaved, onNote: setNote, onJob: setJob }: EditorProps) {
  const [draft, setDraft] = useState<Policy>(current);
  const [errors, setErrors] = useState<FieldErrors>(new Map());
  const changed = JSON.stringify(draft) !== JSON.stringify(current);
  const save = async (applyTo: "new_loans" | "in_flight") => {
    setNote(null);
    setErrors(new Map());
    try {
      const saved = await api<{ version: number; job?: { id: string } }>(
        "PUT",
        `/v1/policies/${encodeURIComponent(current.id)}`,
        putBody(draft, applyTo),
      );
      setNote(
        saved.job
          ? `Saved as version ${saved.version}; moving the running loans onto it (job ${saved.job.id}).`
          : `Saved as version ${saved.version} for new loans.`,
      );
      setJob(saved.job?.id ?? null);
      onSaved();
    } catch (error) {
      if (error instanceof ApiError && error.details.length > 0) setErrors(fieldErrors(error.details));
      setNote(`Not saved: ${messageOf(error)}`);
    }
  };
  return (
    <>
      <p>
        Version {current.version}. Times are the borrower's local time; the contact window is{" "}
        {draft.contactWindow.start}–{draft.contactWindow.end}.
      </p>
      <StepsTable draft={draft} errors={errors} onChange={setDraft} />
      <AddStep draft={draft} onChange={setDraft} />
      <ContactRulesEditor draft={draft} errors={errors} onChange={setDraft} />
      <HandOffEditor draft={draft} errors={errors} onChange={setDraft} />
      <ChargesEditor draft={draft} errors={errors} onChange={setDraft} />
      <SelfServiceEditor draft={draft} errors={errors} onChange={setDraft} />
      <TemplateEditor draft={draft} errors={errors} onChange={setDraft} />
      <WhatIf draft={draft} current={current} changed={changed} />
      <div class="inline">
        <button type="button" disabled={!changed} onClick={() => save("new_loans")}>
          Save for new loans
        </button>
        <button type="button" disabled={!changed} onClick={() => save("in_flight")}>
          Save and apply to running loans
        </button>
        <button type="button" class="secondary" disabled={!changed} onClick={() => setDraft(current)}>
          Discard changes
        </button>
      </div>
      <Unplaced errors={errors} />
    </>
  );
}

function StepsTable({ draft, errors, onChange }: DraftPart) {
  const templateIds = Object.keys(draft.templates ?? {});
  return (
    <table>
      <caption>
        Steps: each one is a day (offset from the due date) and a time, its channels and its template
      </caption>
      <thead>
        <tr>
          <th scope="col">Step</th>
          <th scope="col">Stage</th>
          <th scope="col">Day</th>
          <th scope="col">Time</th>
          <th scope="col">Channels</th>
          <th scope="col">Template</th>
          <th scope="col">
            <span class="visually-hidden">Remove</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {draft.steps.map((step, i) => {
          const at = (field: string) => `steps.${i}.${field}`;
          const set = (change: Partial<typeof step>) => onChange(withStep(draft, i, change));
          return (
            <tr key={step.id}>
              <th scope="row">{step.id}</th>
              <td>{step.stage}</td>
              <td>
                <Field id={at("offsetDays")} label={`Day of ${step.id}`} errors={errors}>
                  <input
                    type="number"
                    value={step.offsetDays}
                    onInput={(e) => set({ offsetDays: Number((e.target as HTMLInputElement).value) })}
                  />
                </Field>
              </td>
              <td>
                <Field id={at("sendAt")} label={`Time of ${step.id}`} errors={errors}>
                  <input
                    type="time"
                    value={step.sendAt}
                    onInput={(e) => set({ sendAt: (e.target as HTMLInputElement).value })}
                  />
                </Field>
              </td>
              <td>
                <fieldset>
                  <legend class="visually-hidden">Channels of {step.id}</legend>
                  {CHANNELS.map((channel) => (
                    <label key={channel} class="check">
                      <input
                        type="checkbox"
                        checked={step.channels.includes(channel)}
                        onChange={(e) =>
                          set({
                            channels: (e.target as HTMLInputElement).checked
                              ? CHANNELS.filter((c) => c === channel || step.channels.includes(c))
                              : step.channels.filter((c) => c !== channel),
                          })
                        }
                      />
                      {channel}
                    </label>
                  ))}
                  <FieldError id={at("channels")} errors={errors} />
                </fieldset>
              </td>
              <td>
                <Field id={at("template")} label={`Template of ${step.id}`} errors={errors}>
                  <select
                    value={step.template}
                    onChange={(e) => set({ template: (e.target as HTMLSelectElement).value })}
                  >
                    {[...new Set([step.template, ...templateIds])].map((t) => (
                      <option key={t} value={t}>
                        {t}
                      </option>
                    ))}
                  </select>
                </Field>
              </td>
              <td>
                <button
                  type="button"
                  class="secondary"
                  aria-label={`Remove ${step.id}`}
                  onClick={() => onChange({ ...draft, steps: draft.steps.filter((_, j) => j !== i) })}
                >
                  Remove
                </button>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** Errors the API named on a path no field shows (a rule of the whole policy): listed, never lost. */
function Unplaced({ errors }: { errors: FieldErrors }) {
  const [shown, setShown] = useState<string[]>([]);
  useEffect(() => {
    setShown(
      [...errors].filter(([path]) => !document.getElementById(path)).map(([path, m]) => `${path}: ${m}`),
    );
  }, [errors]);
  if (shown.length === 0) return null;
  return (
    <ul class="error" aria-label="Other problems">
      {shown.map((line) => (
        <li key={line}>{line}</li>
      ))}
    </ul>
  );
}
