/**
 * What a PromQL expression refers to, for checking dashboards and rules against the series a real Prometheus scraped:
 * the metric names it selects, the label names it matches or groups by, and the function each selector sits in.
 * A tokenizer with a parenthesis stack, not a full parser: enough for the expressions dashboards are made of, and it
 * refuses (throws) on characters it does not understand rather than guessing.
 */

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan', 'atan2']);
const LABEL_LIST_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

export interface SelectorUse {
  metric: string;
  /** Label names in the selector's braces. */
  matchers: string[];
  /** The innermost function or aggregation around it ('' at the top level). */
  enclosingFunction: string;
}

export interface PromqlReferences {
  selectors: SelectorUse[];
  /** Label names used in by/without/on/ignoring/group_* lists. */
  groupingLabels: string[];
}

const IDENT = /[A-Za-z_:][A-Za-z0-9_:]*/y;
const NUMBER = /(?:0x[0-9a-fA-F]+|[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)(?:ms|[smhdwy])?(?:[0-9]+(?:ms|[smhdwy]))*/y;

export function promqlReferences(expr: string): PromqlReferences {
  const selectors: SelectorUse[] = [];
  const groupingLabels: string[] = [];
  const stack: string[] = [];
  let i = 0;
  let lastIdent = '';
  const fail = (what: string): never => {
    throw new Error(`PromQL: ${what} at ${i} in ${JSON.stringify(expr)}`);
  };
  const skipSpace = () => {
    while (i < expr.length && /\s/.test(expr[i]!)) i++;
    if (expr[i] === '#') while (i < expr.length && expr[i] !== '\n') i++;
  };
  const readString = (): string => {
    const quote = expr[i]!;
    let out = '';
    for (i++; i < expr.length && expr[i] !== quote; i++) {
      if (expr[i] === '\\' && quote !== '`') i++;
      out += expr[i];
    }
    if (expr[i] !== quote) fail('unterminated string');
    i++;
    return out;
  };
  const readIdent = (): string | undefined => {
    IDENT.lastIndex = i;
    const m = IDENT.exec(expr);
    if (!m) return undefined;
    i += m[0].length;
    return m[0];
  };
  /** `{a="x", b=~"y"}` → [a, b] (i at '{'). */
  const readMatchers = (): string[] => {
    const names: string[] = [];
    i++;
    for (;;) {
      skipSpace();
      if (expr[i] === '}') { i++; return names; }
      const name = expr[i] === '"' ? readString() : readIdent() ?? fail('label name expected');
      skipSpace();
      const op = /^(=~|!~|!=|=)/.exec(expr.slice(i))?.[0] ?? fail('matcher operator expected');
      i += op.length;
      skipSpace();
      if (expr[i] !== '"' && expr[i] !== "'" && expr[i] !== '`') fail('matcher value expected');
      readString();
      names.push(name);
      skipSpace();
      if (expr[i] === ',') i++;
    }
  };
  /** `(a, b)` after by/on/... (i at '('). */
  const readLabelList = (): void => {
    i++;
    for (;;) {
      skipSpace();
      if (expr[i] === ')') { i++; return; }
      groupingLabels.push(readIdent() ?? fail('label name expected in grouping'));
      skipSpace();
      if (expr[i] === ',') i++;
    }
  };
  while (i < expr.length) {
    skipSpace();
    if (i >= expr.length) break;
    const c = expr[i]!;
    if (c === '"' || c === "'" || c === '`') { readString(); lastIdent = ''; continue; }
    if (c === '[') {
      const end = expr.indexOf(']', i);
      if (end < 0) fail('unterminated range');
      i = end + 1;
      lastIdent = '';
      continue;
    }
    if (c === '{') {
      // A selector without a metric name ({__name__=~...}) names no metric we can check.
      readMatchers();
      continue;
    }
    if (c === '(') { stack.push(lastIdent); lastIdent = ''; i++; continue; }
    if (c === ')') { if (stack.pop() === undefined) fail('unbalanced )'); lastIdent = ''; i++; continue; }
    if (/[0-9.]/.test(c)) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(expr) ?? fail('bad number');
      i += m[0].length;
      lastIdent = '';
      continue;
    }
    if (/[+\-*/%^=!<>,@]/.test(c)) { i++; lastIdent = ''; continue; }
    const ident = readIdent();
    if (ident === undefined) fail(`unexpected ${JSON.stringify(c)}`);
    const name = ident!;
    const lower = name.toLowerCase();
    skipSpace();
    if (LABEL_LIST_KEYWORDS.has(lower)) {
      // `sum by (x) (...)`: the aggregation's name stays pending for the call after the list.
      if (expr[i] === '(') readLabelList();
      continue;
    }
    if (KEYWORDS.has(lower)) { lastIdent = ''; continue; }
    if (expr[i] === '(') { lastIdent = name; continue; }
    // An aggregation written `sum by (x) (...)`: the identifier is a function whose call comes after the label list.
    if (/^(by|without)\b/i.test(expr.slice(i))) { lastIdent = name; continue; }
    const matchers = expr[i] === '{' ? readMatchers() : [];
    selectors.push({ metric: name, matchers, enclosingFunction: stack.at(-1) ?? '' });
    lastIdent = '';
  }
  if (stack.length) fail('unbalanced (');
  return { selectors, groupingLabels };
}
