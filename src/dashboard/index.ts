// src/dashboard: the web page over the same state the CLI shows (M2, seed 003).
// Read-only, rendered on the server as HTML with inline SVG, no script. The
// operator serves it on its metrics port; src/bin hands it the operator's view.
export { dashboardPages } from './pages.ts';
