// The frame every page shares: one HTML document with its style inline, so the
// page needs nothing but this response (no script, no font, no image).
import { html, type Html } from './html.ts';

// A constant, so it goes in as it is.
const style: Html = {
  html: `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #111827; margin: 0; background: #f9fafb; }
header { background: #111827; color: #f9fafb; padding: 10px 24px; display: flex; gap: 24px; align-items: baseline; }
header a { color: #f9fafb; text-decoration: none; }
header .brand { font-weight: 700; font-size: 16px; }
header .meta { margin-left: auto; color: #9ca3af; font-size: 12px; }
main { padding: 16px 24px 32px; max-width: 1400px; }
h1 { font-size: 20px; margin: 4px 0 12px; }
h2 { font-size: 16px; margin: 24px 0 8px; }
table { border-collapse: collapse; width: 100%; background: #fff; margin-bottom: 8px; }
th, td { text-align: left; padding: 5px 10px; border-bottom: 1px solid #e5e7eb; vertical-align: top; }
td { white-space: nowrap; }
td.message { white-space: normal; }
table.counts { width: auto; min-width: 560px; }
th { background: #f3f4f6; font-weight: 600; font-size: 12px; text-transform: uppercase; color: #374151; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
a { color: #1d4ed8; }
tr.protected { background: #dcfce7; }
tr.protected .decision { color: #15803d; font-weight: 600; }
tr.unbound { background: #fef9c3; }
tr.unbound .decision { color: #a16207; font-weight: 600; }
tr.excluded { background: #f3f4f6; color: #4b5563; }
tr.excluded .decision { color: #6b7280; font-weight: 600; }
tr.unprotected { background: #fee2e2; }
tr.unprotected .decision { color: #b91c1c; font-weight: 700; }
tr.failed { background: #fee2e2; }
.bad { color: #b91c1c; font-weight: 600; }
.good { color: #15803d; font-weight: 600; }
.warn { color: #b45309; font-weight: 600; }
.muted { color: #6b7280; }
.tiles { display: flex; gap: 12px; margin: 8px 0 16px; }
.tile { padding: 10px 16px; border-radius: 6px; min-width: 140px; background: #fff; border: 1px solid #e5e7eb; }
.tile strong { display: block; font-size: 24px; }
.tile.protected { border-color: #86efac; background: #dcfce7; color: #15803d; }
.tile.unbound { border-color: #fde047; background: #fef9c3; color: #a16207; }
.tile.excluded { background: #f3f4f6; color: #4b5563; }
.tile.unprotected { border-color: #fca5a5; background: #fee2e2; color: #b91c1c; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; margin-bottom: 12px; }
figure.chart { margin: 0; background: #fff; border: 1px solid #e5e7eb; padding: 8px; }
figcaption { font-size: 12px; color: #4b5563; }
.message { max-width: 48em; overflow-wrap: anywhere; }
`,
};

export function layout(title: string, meta: string, body: Html): string {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} · Safehold</title>
        <style>
          ${style}
        </style>
      </head>
      <body>
        <header>
          <a class="brand" href="/">Safehold</a><a href="/">Coverage</a><a href="/api/coverage.json">JSON</a
          ><span class="meta">${meta}</span>
        </header>
        <main>${body}</main>
      </body>
    </html> `.html;
}
