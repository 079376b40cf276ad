/**
 * Injections into interpreters other than SQL, HTML and the shell: a JNDI lookup that Log4j would resolve
 * (`${jndi:ldap://…}`, with nested lookups such as `${${lower:j}ndi:…}`), a server-side template or expression-language
 * expression that reaches the runtime (`{{…__class__…}}`, `${…getRuntime()…}`, `#{…}`, `<%= … %>` with code), and
 * CRLF sequences that start a new response header (`\r\nSet-Cookie: id=…`, `\r\nHTTP/1.1 200`). Pure; text decoded.
 */

export type ExpressionConstruct = 'jndi_lookup' | 'template_injection' | 'header_injection';

export interface ExpressionMatch { construct: ExpressionConstruct; start: number; end: number }

// `${jndi:`, also spelt with lookups that evaluate to its letters (`${${lower:j}${::-n}di:`), and its protocols.
const JNDI = /\$\{(?:[^{}]{0,20}\$\{[^{}]{0,30}\}){0,12}[^{}]{0,20}?(?:j|\$\{[^{}]{0,30}\})(?:n|\$\{[^{}]{0,30}\})(?:d|\$\{[^{}]{0,30}\})(?:i|\$\{[^{}]{0,30}\})(?::|\$\{[^{}]{0,30}\})[^}]{0,200}\}?/i;
const LOOKUP_PROTOCOL = /\$\{\s*(?:jndi|(?:lower|upper|env|sys|date|main|bundle|ctx|spring|k8s|docker|web|java|base64):|[^}]{0,20}:-)/i;
// A template expression that walks to the runtime, classes or the environment.
const TEMPLATE = /(?:\{\{|\$\{|#\{|\{%|<%=?|\[\[)[^}%\]]{0,200}?(?:__class__|__mro__|__subclasses__|__globals__|__builtins__|__import__|getRuntime\s*\(|ProcessBuilder|\.exec\s*\(|constructor\.constructor|\bconfig\.items\b|\bself\._|request\.application|T\s*\(\s*java\.|freemarker\.template|Execute\b|popen\s*\(|system\s*\(|eval\s*\(|require\s*\(\s*['"]child_process)[^}%\]]{0,200}(?:\}\}|\}|%\}|%>|\]\])?/i;
// A CR or LF followed by a response header with a value of its own shape (so "\r\nLocation: Madrid" typed into a
// text area stays text), or a status line.
const HEADER_INJECTION = /(?:\r\n?|\n)[\t ]*(?:set-cookie\s*:\s*[^\s=;]+=|location\s*:\s*(?:[a-z][a-z0-9+.-]*:|\/)|content-type\s*:\s*[a-z]+\/[a-z0-9.+-]+|content-length\s*:\s*[0-9]+|refresh\s*:\s*[0-9]|x-xss-protection\s*:\s*[0-9]|access-control-allow-[a-z-]+\s*:|transfer-encoding\s*:\s*chunked|http\/[0-9.]+\s+[0-9]{3}\b)[^\r\n]{0,120}/i;

/** The first expression-injection construct in a decoded value. */
export function findExpressionInjection(text: string): ExpressionMatch | undefined {
  if (text.indexOf('$') >= 0 && LOOKUP_PROTOCOL.test(text)) {
    const m = JNDI.exec(text);
    if (m) return { construct: 'jndi_lookup', start: m.index, end: m.index + m[0].length };
  }
  if (/\{|<%|\[\[/.test(text)) {
    const m = TEMPLATE.exec(text);
    if (m) return { construct: 'template_injection', start: m.index, end: m.index + m[0].length };
  }
  if (/[\r\n]/.test(text)) {
    const m = HEADER_INJECTION.exec(text);
    if (m) return { construct: 'header_injection', start: m.index, end: m.index + m[0].length };
  }
  return undefined;
}
