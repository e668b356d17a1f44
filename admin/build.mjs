// Builds the admin page into one self-contained file: dist/admin.html with the bundled script
// and the stylesheet inline, and dist/admin.csp, the Content-Security-Policy that allows
// exactly those two (by their SHA-256) and requests to the page's own origin. Nothing is
// fetched from anywhere else. `make install` copies both beside the extension.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = await build({
  entryPoints: [join(here, "src/main.jsx")],
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2020",
  jsx: "automatic",
  jsxImportSource: "preact",
  legalComments: "none",
  write: false,
});
// (inline: no "</script" may appear in the script's text)
const script = out.outputFiles[0].text.replace(/<\/script/gi, "<\\/script");
const style = readFileSync(join(here, "src/style.css"), "utf8");
const sha = (text) => `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;
const csp = [
  "default-src 'none'",
  `script-src ${sha(script)}`,
  `style-src ${sha(style)}`,
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");
const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>specstar admin</title>
<style>${style}</style>
</head>
<body>
<div id="app"></div>
<script>${script}</script>
</body>
</html>
`;
mkdirSync(join(here, "dist"), { recursive: true });
writeFileSync(join(here, "dist/admin.html"), html);
writeFileSync(join(here, "dist/admin.csp"), csp + "\n");
console.log(`admin page: dist/admin.html (${Math.round(html.length / 1024)} KB), dist/admin.csp`);
