import { useState } from "preact/hooks";
import { ApiError, type Me, whoAmI } from "../api.ts";

/** The key is checked against the API before anything else is shown; it is kept for this tab only. */
export function SignIn({ onSignedIn }: { onSignedIn: (key: string, me: Me) => void }) {
  const [key, setKey] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onSignedIn(key.trim(), await whoAmI(key.trim()));
    } catch (failure) {
      setError(
        failure instanceof ApiError && failure.status === 401
          ? "That key is not valid."
          : "Could not reach the API.",
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" class="sign-in">
      <h1>Dunning console</h1>
      <form onSubmit={submit}>
        <label for="api-key">API key</label>
        <input
          id="api-key"
          name="apiKey"
          type="password"
          autocomplete="off"
          required
          value={key}
          onInput={(e) => setKey((e.target as HTMLInputElement).value)}
          aria-describedby={error ? "sign-in-error" : "sign-in-hint"}
        />
        <p id="sign-in-hint" class="hint">
          Kept in this tab only; closing it signs you out.
        </p>
        {error && (
          <p id="sign-in-error" role="alert" class="error">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
