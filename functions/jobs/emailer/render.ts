/**
 * The mails' HTML. Every value that comes from a realm (its name above all: admins type it) or from
 * configuration is escaped before it reaches the markup; nothing is trusted to be plain text.
 */

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(value: string | number): string {
  return String(value).replace(/[&<>"']/g, (char) => ENTITIES[char]);
}

/** A ratio (0.8125) as a percentage for people: "81.25%". */
export function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(2)}%`;
}

export interface Paragraphs {
  readonly title: string;
  /** Each already-escaped HTML fragment becomes one paragraph. */
  readonly paragraphs: readonly string[];
}

export function link(href: string, label: string): string {
  return `<a href="${escapeHtml(href)}">${escapeHtml(label)}</a>`;
}

export function layout(mail: Paragraphs): string {
  return [
    '<!doctype html>',
    '<html>',
    `<head><meta charset="utf-8"><title>${escapeHtml(mail.title)}</title></head>`,
    '<body style="font-family: Arial, Helvetica, sans-serif; font-size: 14px; line-height: 1.5">',
    ...mail.paragraphs.map((paragraph) => `<p>${paragraph}</p>`),
    '<p style="color: #666; font-size: 12px">This message was sent automatically by the Exposure Notifications verification server to the contact addresses of your realm. Change them in the realm settings.</p>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
