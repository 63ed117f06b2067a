/** The page: sign-in until there is a token, then the header (who you are) and the routed view. */
import { useEffect, useState } from "preact/hooks";
import { humanDuration } from "./lib/format.js";
import type { TokenClaims } from "./lib/jwt.js";
import { parseRoute, paths } from "./lib/routes.js";
import { Link, useLocation } from "./router.js";
import { session } from "./session.js";
import { useNow } from "./use-load.js";
import { Detail } from "./views/detail.js";
import { History } from "./views/history.js";
import { Live } from "./views/live.js";
import { SignIn } from "./views/signin.js";
import { Trends } from "./views/trends.js";

export function App() {
  const [claims, setClaims] = useState(() => session.claims());
  useEffect(() => session.subscribe(() => setClaims(session.claims())), []);
  const { pathname, search } = useLocation();

  // A token that expires while the page is open ends the session with a reason, not with failing calls.
  useEffect(() => {
    const expiresAt = claims?.expiresAt;
    if (!expiresAt) return;
    const end = () =>
      session.signOut(`Your token expired at ${expiresAt.toLocaleString()}. Paste a new one.`);
    const ms = expiresAt.getTime() - Date.now();
    if (ms <= 0) {
      end();
      return;
    }
    // setTimeout's longest delay is about 24.8 days.
    const timer = setTimeout(end, Math.min(ms, 2_000_000_000));
    return () => clearTimeout(timer);
  }, [claims]);

  if (!claims) return <SignIn />;
  const route = parseRoute(pathname);
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <nav aria-label="Views">
          <span class="brand">Jobs</span>
          <NavLink href={paths.history()} current={route.view === "history"}>
            History
          </NavLink>
          <NavLink href={paths.live()} current={route.view === "live"}>
            Live
          </NavLink>
          <NavLink href={paths.trends()} current={route.view === "trends"}>
            Trends
          </NavLink>
        </nav>
        <Identity claims={claims} />
      </header>
      {route.view === "history" && <History search={search} />}
      {route.view === "live" && <Live />}
      {route.view === "trends" && <Trends search={search} />}
      {route.view === "job" && <Detail jobId={route.jobId} claims={claims} />}
      {route.view === "not-found" && (
        <main id="main">
          <h1>Not found</h1>
          <p>
            There is no page at <code>{route.path}</code>.{" "}
            <Link href={paths.history()}>Go to the history</Link>.
          </p>
        </main>
      )}
    </>
  );
}

function NavLink(props: { href: string; current: boolean; children: string }) {
  return (
    <Link href={props.href} aria-current={props.current ? "page" : undefined}>
      {props.children}
    </Link>
  );
}

function Identity({ claims }: { claims: TokenClaims }) {
  const now = useNow(15_000);
  const left = claims.expiresAt ? (claims.expiresAt.getTime() - now.getTime()) / 1000 : null;
  return (
    <section class="identity" aria-label="Signed in as">
      <dl>
        <div>
          <dt>Domain</dt>
          <dd data-testid="who-domain">{claims.domainId ?? "—"}</dd>
        </div>
        <div>
          <dt>Workspace</dt>
          <dd data-testid="who-workspace">{claims.workspaceId ?? "all"}</dd>
        </div>
        <div>
          <dt>Role</dt>
          <dd data-testid="who-role">{claims.role ?? claims.tokenType ?? "—"}</dd>
        </div>
        <div>
          <dt>Expires</dt>
          <dd data-testid="who-expiry" title={claims.expiresAt?.toLocaleString()}>
            {left === null ? "never" : left > 0 ? `in ${humanDuration(left)}` : "expired"}
          </dd>
        </div>
      </dl>
      <button type="button" class="secondary" onClick={() => session.signOut()}>
        Sign out
      </button>
    </section>
  );
}
