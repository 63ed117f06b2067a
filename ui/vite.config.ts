/**
 * The web page's build (docs/ui.md): ui/ -> dist/ui, served by the service at /ui/. Part of
 * `npm run build`, so `npm start` serves a current page.
 */
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here("."),
  base: "/ui/",
  // No public/ folder: every file the page needs is imported, hashed and bundled.
  publicDir: false,
  build: {
    outDir: here("../dist/ui"),
    emptyOutDir: true,
    target: "es2022",
    // The page ships no source maps: it is small and readable in the repository.
    sourcemap: false,
    // A strict CSP with no inline code: the module preload polyfill would be inline otherwise.
    modulePreload: { polyfill: false },
    reportCompressedSize: true,
  },
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
});
