import { describe, expect, it } from 'vitest';
import { escapeHtml, html } from './html.ts';

describe('html', () => {
  it.each([
    ['<script>alert(1)</script>', '&lt;script&gt;alert(1)&lt;/script&gt;'],
    [`"quoted" & 'single'`, '&quot;quoted&quot; &amp; &#39;single&#39;'],
    ['plain-name', 'plain-name'],
  ])('escapes %s', (text, escaped) => {
    expect(escapeHtml(text)).toBe(escaped);
    expect(html`<td title="${text}">${text}</td>`.html).toBe(`<td title="${escaped}">${escaped}</td>`);
  });

  it('inserts Html and lists of Html as they are, numbers as digits, undefined as nothing', () => {
    const cells = ['a<', 'b'].map((c) => html`<td>${c}</td>`);
    // prettier-ignore
    const built = html`<tr>${cells}</tr>${html`<b>${7}</b>`}${undefined}`;
    expect(built.html).toBe('<tr><td>a&lt;</td><td>b</td></tr><b>7</b>');
  });
});
