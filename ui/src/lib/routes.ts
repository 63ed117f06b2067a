/** The page's own paths under /ui/. Everything after the path (the query) belongs to the view. */

export const BASE = "/ui/";

export type Route =
  | { readonly view: "history" }
  | { readonly view: "live" }
  | { readonly view: "trends" }
  | { readonly view: "job"; readonly jobId: string }
  | { readonly view: "not-found"; readonly path: string };

export function parseRoute(pathname: string): Route {
  const rest = pathname.startsWith(BASE) ? pathname.slice(BASE.length) : pathname.replace(/^\/+/, "");
  const segments = rest.split("/").filter((s) => s !== "");
  const [first, second] = segments;
  if (segments.length === 0 || (first === "history" && segments.length === 1)) return { view: "history" };
  if (first === "live" && segments.length === 1) return { view: "live" };
  if (first === "trends" && segments.length === 1) return { view: "trends" };
  if (first === "jobs" && second !== undefined && segments.length === 2) {
    try {
      return { view: "job", jobId: decodeURIComponent(second) };
    } catch {
      // fall through: not a valid id
    }
  }
  return { view: "not-found", path: pathname };
}

export const paths = {
  history: (search = "") => `${BASE}history${search}`,
  live: () => `${BASE}live`,
  trends: (search = "") => `${BASE}trends${search}`,
  job: (jobId: string) => `${BASE}jobs/${encodeURIComponent(jobId)}`,
};
