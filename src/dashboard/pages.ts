// The dashboard's HTTP side: which address is which page, GET and HEAD only,
// and headers that let the browser run nothing and fetch nothing else.
import { coverageRecord, type OperatorView, type PageHandler } from '../core/index.ts';
import { coveragePage } from './coverage-page.ts';
import { html } from './html.ts';
import { layout } from './layout.ts';
import { route, type Route } from './paths.ts';
import { standbyPage } from './standby-page.ts';
import { volumePage } from './volume-page.ts';

export interface Reply {
  status: number;
  contentType: string;
  body: string;
}

const securityHeaders = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

/** `view` is called once per request, so each page shows the state of that moment. */
export function dashboardPages(view: () => OperatorView): PageHandler {
  return (request, response) => {
    const page = route(new URL(request.url ?? '/', 'http://dashboard'));
    if (page === undefined) return false;
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response
        .writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' })
        .end('the dashboard is read-only: GET or HEAD\n');
      return true;
    }
    let reply: Reply;
    try {
      reply = respond(page, view());
    } catch (error) {
      // A page that cannot be drawn must not take the operator's metrics server down with it.
      reply = { status: 500, contentType: 'text/plain; charset=utf-8', body: `the page failed: ${String(error)}\n` };
    }
    response
      .writeHead(reply.status, {
        ...securityHeaders,
        'content-type': reply.contentType,
        ...(reply.status === 503 ? { 'retry-after': '10' } : {}),
      })
      .end(reply.body);
    return true;
  };
}

export function respond(page: Route, state: OperatorView): Reply {
  if (state.role !== 'leading')
    return page.page === 'coverage-json'
      ? json(503, { role: state.role, identity: state.identity })
      : htmlReply(503, standbyPage(state));
  switch (page.page) {
    case 'coverage':
      return htmlReply(200, coveragePage(state, page.namespace));
    case 'coverage-json':
      return json(
        200,
        state.coverage
          .toSorted((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name))
          .map(coverageRecord),
      );
    case 'volume': {
      const body = volumePage(state, page.namespace, page.pvc);
      return body === undefined
        ? htmlReply(
            404,
            layout(
              'Not found',
              `replica ${state.identity}`,
              html`<h1>Not found</h1>
                <p>There is no PVC ${page.namespace}/${page.pvc} and no backup of one.</p>
                <p><a href="/">Coverage</a></p>`,
            ),
          )
        : htmlReply(200, body);
    }
  }
}

function htmlReply(status: number, body: string): Reply {
  return { status, contentType: 'text/html; charset=utf-8', body };
}

function json(status: number, value: unknown): Reply {
  return { status, contentType: 'application/json', body: `${JSON.stringify(value, null, 2)}\n` };
}
