import { useEffect, useState } from "preact/hooks";
import { ApiError } from "./api.ts";

export type Loaded<T> =
  | { state: "loading" }
  | { state: "failed"; message: string }
  | { state: "ready"; data: T };

/** Runs `fetcher` whenever `keys` change; the last answer wins (an older one arriving late is dropped). */
export function useLoad<T>(fetcher: () => Promise<T>, keys: unknown[]): [Loaded<T>, () => void] {
  const [loaded, setLoaded] = useState<Loaded<T>>({ state: "loading" });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let current = true;
    setLoaded({ state: "loading" });
    fetcher()
      .then((data) => current && setLoaded({ state: "ready", data }))
      .catch((error: unknown) => current && setLoaded({ state: "failed", message: messageOf(error) }));
    return () => {
      current = false;
    };
  }, [...keys, round]);
  return [loaded, () => setRound((n) => n + 1)];
}

export const messageOf = (error: unknown): string =>
  error instanceof ApiError ? `${error.message} (${error.status})` : "Could not reach the API.";

/** What a view shows while its data is not there. */
export function Pending({ loaded }: { loaded: Loaded<unknown> }) {
  if (loaded.state === "loading") return <p role="status">Loading…</p>;
  if (loaded.state === "failed")
    return (
      <p role="alert" class="error">
        {loaded.message}
      </p>
    );
  return null;
}
