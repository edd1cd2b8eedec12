import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { LocationProvider, Route, Router, useLocation } from "preact-iso";
import { ApiError, apiBase, forgetKey, keepKey, type Me, storedKey, whoAmI } from "./api.ts";
import { ComplianceView } from "./views/compliance.tsx";
import { LegalView } from "./views/legal.tsx";
import { LoansView } from "./views/loans.tsx";
import { NotAllowed, VIEWS, viewsOf } from "./views/nav.tsx";
import { PolicyEditorView } from "./views/policy-editor.tsx";
import { PortfolioView } from "./views/portfolio.tsx";
import { SettingsView } from "./views/settings.tsx";
import { SignIn } from "./views/sign-in.tsx";
import { TimelineView } from "./views/timeline.tsx";
import { WorkView } from "./views/work.tsx";
import "uplot/dist/uPlot.min.css";
import "./styles.css";

/** Where the console lives: `/console` behind the API's own base (a stage name on AWS). */
export const BASE = `${apiBase()}/console`;

function Shell({ me, onSignOut }: { me: Me; onSignOut: () => void }) {
  const { path } = useLocation();
  const allowed = viewsOf(me.role);
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <strong>Dunning console</strong>
        <nav aria-label="Views">
          <ul>
            {allowed.map((view) => (
              <li key={view.id}>
                <a
                  href={`${BASE}${view.path}`}
                  aria-current={path.startsWith(`${BASE}${view.path}`) ? "page" : undefined}
                >
                  {view.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span class="who">
          {me.tenantId} · {me.role}
        </span>
        <button type="button" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <main id="main">
        <Router>
          <Route path={`${BASE}/portfolio`} component={() => guard(me, "portfolio", <PortfolioView />)} />
          <Route path={`${BASE}/loans`} component={() => guard(me, "loans", <LoansView me={me} />)} />
          <Route
            path={`${BASE}/loans/:loanId`}
            component={({ loanId }: { loanId: string }) =>
              guard(me, "loans", <TimelineView loanId={loanId} canRestart={me.role === "ops"} />)
            }
          />
          <Route path={`${BASE}/policies`} component={() => guard(me, "policies", <PolicyEditorView />)} />
          <Route path={`${BASE}/settings`} component={() => guard(me, "settings", <SettingsView />)} />
          <Route path={`${BASE}/compliance`} component={() => guard(me, "compliance", <ComplianceView />)} />
          <Route path={`${BASE}/legal`} component={() => guard(me, "legal", <LegalView />)} />
          <Route path={`${BASE}/work`} component={() => guard(me, "work", <WorkView />)} />
          <Route default component={() => <Home me={me} />} />
        </Router>
      </main>
    </>
  );
}

/** A view the key's role may not open says so, whatever the address typed. */
function guard(me: Me, view: string, element: preact.JSX.Element) {
  return viewsOf(me.role).some((v) => v.id === view) ? element : <NotAllowed role={me.role} />;
}

function Home({ me }: { me: Me }) {
  const { route } = useLocation();
  const first = viewsOf(me.role)[0] ?? VIEWS[0];
  useEffect(() => route(`${BASE}${first?.path ?? "/loans"}`, true), [me.role]);
  return null;
}

function App() {
  const [me, setMe] = useState<Me | null>(null);
  const [checking, setChecking] = useState(storedKey() !== null);
  useEffect(() => {
    const key = storedKey();
    if (!key) return;
    whoAmI(key)
      .then(setMe)
      .catch((error: unknown) => {
        if (error instanceof ApiError && error.status === 401) forgetKey();
      })
      .finally(() => setChecking(false));
  }, []);
  if (checking) return <p role="status">Checking your key…</p>;
  if (!me)
    return (
      <SignIn
        onSignedIn={(key, who) => {
          keepKey(key);
          setMe(who);
        }}
      />
    );
  return (
    <LocationProvider scope={BASE}>
      <Shell
        me={me}
        onSignOut={() => {
          forgetKey();
          setMe(null);
        }}
      />
    </LocationProvider>
  );
}

const root = document.getElementById("app");
if (root) render(<App />, root);
