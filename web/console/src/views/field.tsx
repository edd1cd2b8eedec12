import { cloneElement } from "preact";
import type { FieldErrors } from "./policy-draft.ts";

/**
 * A labelled input with the API's error for its path shown beside it and announced with it: the input is
 * the only child, and gets its id, label and description here.
 */
export function Field({
  id,
  label,
  errors,
  children,
  showLabel = false,
}: {
  id: string;
  label: string;
  errors: FieldErrors;
  children: preact.JSX.Element;
  /** Shown above the input; otherwise read out only (the table row or legend says what it is). */
  showLabel?: boolean;
}) {
  const error = errors.get(id);
  const input = cloneElement(children, {
    id,
    "aria-invalid": error ? "true" : undefined,
    "aria-describedby": error ? `${id}-error` : undefined,
  });
  return (
    <span class="field">
      <label for={id} class={showLabel ? undefined : "visually-hidden"}>
        {label}
      </label>
      {input}
      <FieldError id={id} errors={errors} />
    </span>
  );
}

export function FieldError({ id, errors }: { id: string; errors: FieldErrors }) {
  const error = errors.get(id);
  return error ? (
    <span id={`${id}-error`} class="error field-error">
      {error}
    </span>
  ) : null;
}
