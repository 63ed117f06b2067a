/** Sign in by pasting a token: checked locally (format, expiry), then by the service with one small call. */
import { useState } from "preact/hooks";
import { describeError, verifyToken } from "../api.js";
import { decodeToken, normalizeToken, TokenFormatError, tokenProblem } from "../lib/jwt.js";
import { session } from "../session.js";

export function SignIn() {
  const [value, setValue] = useState("");
  const [error, setError] = useState(session.endedBecause());
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setError("");
    let claims: ReturnType<typeof decodeToken>;
    try {
      claims = decodeToken(value);
    } catch (e) {
      setError(e instanceof TokenFormatError ? e.message : String(e));
      return;
    }
    const problem = tokenProblem(claims, new Date());
    if (problem) {
      setError(problem);
      return;
    }
    setBusy(true);
    // Only the service can check the signature.
    try {
      await verifyToken(normalizeToken(value));
    } catch (e) {
      setError(describeError(e));
      setBusy(false);
      return;
    }
    session.signIn(value);
  };

  return (
    <main class="signin" id="main">
      <h1>Jobs</h1>
      <p>Paste an access token to see the collection jobs of your domain or workspace.</p>
      <form onSubmit={submit}>
        <label for="token">Token</label>
        <textarea
          id="token"
          name="token"
          rows={6}
          autocomplete="off"
          spellcheck={false}
          value={value}
          onInput={(e) => setValue((e.target as HTMLTextAreaElement).value)}
          aria-describedby="token-help token-error"
          placeholder="eyJhbGciOi…"
        />
        <p id="token-help" class="muted">
          Kept in this tab's session storage only; closing the tab signs you out. A new token:{" "}
          <code>npm run token</code>.
        </p>
        {error && (
          <p id="token-error" class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy || normalizeToken(value) === ""}>
          {busy ? "Checking…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
