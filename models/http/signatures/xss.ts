/**
 * Cross-site scripting as markup that would run script where the value is echoed: a script element, an element with an
 * event-handler attribute or a script URL in a URL attribute, an attribute context broken out of (`" onfocus=…`), a
 * `javascript:` / `vbscript:` / `data:text/html` URL followed by code, frames and plugins pointing somewhere, a meta
 * refresh, CSS expressions. Plain markup (`<b>`, `<a href="https://…">`) and text with `<` and `>` are not. Pure; the
 * text is already decoded.
 */

export type XssConstruct = 'script_tag' | 'event_handler' | 'script_url' | 'frame_or_plugin' | 'meta_refresh' | 'css_expression';

export interface XssMatch { construct: XssConstruct; start: number; end: number }

// Browsers accept `/` and control characters where a blank separates a tag name from its attributes (`<svg/onload=…>`).
const SEP = String.raw`[\s/\x00-\x1f]`;
const SCRIPT_TAG = /<\/?\s*script\b[^>]{0,200}>?/i;
// An element with an on…= attribute (the name of a real handler is on + letters; `onion=` outside a tag is text).
// After a quoted attribute value the next attribute may follow without a blank (`src=\`x\`onerror=…`).
const TAG_WITH_HANDLER = new RegExp(String.raw`<[a-z][a-z0-9:-]*(?:${SEP}+[^<>]{0,200}?)?(?:${SEP}|["'\x60])on[a-z]{3,30}${SEP}*=${SEP}*[^\s>]{1,200}`, 'i');
// An attribute value closed by the quote the value brings, then a handler: `" onmouseover="alert(1)`, `' autofocus onfocus=x '`.
const ATTRIBUTE_BREAK = new RegExp(String.raw`["'\x60][^"'<>\n]{0,60}?${SEP}on[a-z]{3,30}${SEP}*=${SEP}*["'\x60]?[^\s"'>]{1,200}`, 'i');
// A script URL: the scheme (blanks and controls inside it are dropped by browsers) followed by code.
const SCRIPT_SCHEME = String.raw`(?:j[\s\x00-\x1f]*a[\s\x00-\x1f]*v[\s\x00-\x1f]*a[\s\x00-\x1f]*|v[\s\x00-\x1f]*b[\s\x00-\x1f]*)s[\s\x00-\x1f]*c[\s\x00-\x1f]*r[\s\x00-\x1f]*i[\s\x00-\x1f]*p[\s\x00-\x1f]*t[\s\x00-\x1f]*:`;
const CODE = String.raw`\s*(?:[\w$.\[\]'"]+\s*[(\x60=]|/[/*]|(?:alert|prompt|confirm|eval|fetch|document|window|location|top|self|parent|this|import|atob|constructor)\b)`;
const SCRIPT_URL = new RegExp(String.raw`(?:^|[\s"'=(,;:>])${SCRIPT_SCHEME}${CODE}[^\s"'>]{0,200}`, 'i');
const DATA_HTML_URL = /(?:^|[\s"'=(])data:\s*(?:text\/html|image\/svg\+xml|application\/(?:x-)?javascript|text\/javascript)[;,][^\s"'>]{0,200}/i;
const URL_ATTRIBUTE_WITH_SCRIPT = new RegExp(String.raw`<[a-z][a-z0-9-]*[^>]{0,200}?${SEP}(?:href|src|action|formaction|data|xlink:href|background|poster|lowsrc|dynsrc|srcdoc)${SEP}*=${SEP}*["']?\s*(?:${SCRIPT_SCHEME}|data:)`, 'i');
const FRAME_OR_PLUGIN = new RegExp(String.raw`<\s*(?:i?frame|object|embed|applet|base|portal)${SEP}[^>]{0,200}?(?:src|data|code|href|srcdoc)${SEP}*=[^>]{0,200}`, 'i');
const META_REFRESH = /<\s*meta\b[^>]{0,200}http-equiv\s*=\s*["']?\s*refresh[^>]{0,200}/i;
const CSS_EXPRESSION = /(?:expression\s*\(|-moz-binding\s*:|behavior\s*:\s*url\s*\(|@import\s+['"]?\s*(?:javascript|data):)/i;

const RULES: Array<[XssConstruct, RegExp]> = [
  ['script_tag', SCRIPT_TAG],
  ['event_handler', TAG_WITH_HANDLER],
  ['script_url', URL_ATTRIBUTE_WITH_SCRIPT],
  ['event_handler', ATTRIBUTE_BREAK],
  ['script_url', SCRIPT_URL],
  ['script_url', DATA_HTML_URL],
  ['frame_or_plugin', FRAME_OR_PLUGIN],
  ['meta_refresh', META_REFRESH],
  ['css_expression', CSS_EXPRESSION],
];

/** The first script-running construct in a decoded value. */
export function findXss(text: string): XssMatch | undefined {
  // Every construct needs one of these characters or words: most values are skipped in one scan.
  if (!/[<"'`:(@]/.test(text)) return undefined;
  for (const [construct, re] of RULES) {
    const m = re.exec(text);
    if (!m) continue;
    // Leading context characters the pattern needed (a blank or `=` before `javascript:`) are not the fragment.
    const lead = /^[\s"'=(,;:>]/.test(m[0]) && construct === 'script_url' && re !== URL_ATTRIBUTE_WITH_SCRIPT ? 1 : 0;
    return { construct, start: m.index + lead, end: m.index + m[0].length };
  }
  return undefined;
}
