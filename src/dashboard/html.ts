// HTML built from template literals in which every interpolated value is
// escaped, unless it is itself Html: a PVC or namespace name, an error message
// or an annotation value can never become markup.
export interface Html {
  readonly html: string;
}

type Value = string | number | Html | readonly Html[] | undefined;

const entities: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => entities[c] ?? c);
}

export function html(strings: TemplateStringsArray, ...values: Value[]): Html {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? '');
  });
  return { html: out };
}

function render(value: Value): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return escapeHtml(value);
  if (typeof value === 'number') return String(value);
  if (isHtmlList(value)) return value.map((part) => part.html).join('');
  return value.html;
}

function isHtmlList(value: Html | readonly Html[]): value is readonly Html[] {
  return Array.isArray(value);
}
