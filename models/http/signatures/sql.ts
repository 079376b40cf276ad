/**
 * SQL injection as grammar in context. A value is read the three ways an application may paste it into a query: as
 * the content of a quoted string (the first `'` or `"` closes it), as a number (a leading number ends it), or as it
 * stands. What follows the break is tokenized like SQL (comments `/＊…＊/` are blanks, MySQL `/＊!…＊/` is code) and must
 * continue a query: UNION [ALL] SELECT, a stacked statement after `;`, a statement keyword (DELETE FROM, DROP TABLE…),
 * ORDER/GROUP BY n, a boolean operator followed by a comparison, a function call or a subquery, an operator joined to a
 * function call or subquery, a comment that cuts the rest of the query off. A break followed by an ordinary word
 * ("O'Brien", "5 or 6 items") is text, not SQL. Without any break only whole statements count. Pure.
 */

export type SqlConstruct =
  | 'union_select' | 'stacked_query' | 'statement' | 'order_by' | 'boolean' | 'expression' | 'comment_terminator' | 'time_delay'
  | 'file_access' | 'boolean_literal' | 'subquery';

export interface SqlMatch {
  construct: SqlConstruct;
  /** Where the injected part starts and where the matched grammar ends, in the analysed text. */
  start: number;
  end: number;
  /** 'quote': after a closing quote; 'number': after a leading number; 'none': the value as it stands. */
  context: 'quote' | 'number' | 'none';
}

type TokenType = 'str' | 'num' | 'kw' | 'fn' | 'var' | 'op' | 'cmp' | '(' | ')' | ',' | ';' | '.' | 'comment' | 'word';

interface Token { type: TokenType; text: string; start: number; end: number; open?: boolean }

const KEYWORDS = new Set([
  'select', 'union', 'all', 'distinct', 'from', 'where', 'and', 'or', 'xor', 'not', 'order', 'group', 'by', 'having',
  'limit', 'offset', 'insert', 'into', 'values', 'update', 'set', 'delete', 'drop', 'table', 'database', 'create', 'alter',
  'truncate', 'exec', 'execute', 'declare', 'waitfor', 'delay', 'time', 'like', 'rlike', 'regexp', 'is', 'null', 'in',
  'between', 'case', 'when', 'then', 'else', 'end', 'procedure', 'shutdown', 'true', 'false', 'as', 'join', 'outfile',
  'dumpfile', 'sounds', 'grant', 'revoke', 'merge', 'call', 'use', 'begin', 'asc', 'desc', 'top', 'exists', 'div', 'mod',
  'collate', 'escape', 'load_file', 'schema', 'column', 'index', 'view', 'user', 'users', 'if',
]);
const KEYWORD_FUNCTIONS = new Set(['if', 'user', 'database', 'schema', 'load_file', 'mod', 'time']);
const STATEMENT_STARTS = new Set(['select', 'insert', 'update', 'delete', 'drop', 'create', 'alter', 'truncate', 'exec', 'execute', 'declare', 'waitfor', 'shutdown', 'grant', 'revoke', 'merge', 'call', 'use', 'begin', 'set']);
const BOOLEAN_OPS = new Set(['and', 'or', 'xor', '&&', '||']);
const COMPARISONS = new Set(['like', 'rlike', 'regexp', 'is', 'in', 'between', 'sounds']);
/** Functions whose only use in a parameter is to make the database wait, read files or leak through errors. */
const TELLTALE_FUNCTIONS = new Set([
  'sleep', 'benchmark', 'pg_sleep', 'randomblob', 'load_file', 'extractvalue', 'updatexml', 'xp_cmdshell', 'utl_inaddr',
  'utl_http', 'dbms_pipe', 'dbms_lock', 'sys_eval', 'sys_exec', 'pg_read_file', 'lo_import', 'char', 'chr', 'concat',
  'concat_ws', 'group_concat', 'ascii', 'substring', 'substr', 'mid', 'version', 'database', 'user', 'current_user',
  'system_user', 'count', 'cast', 'convert', 'hex', 'unhex', 'ord', 'length', 'if', 'iif', 'case', 'elt', 'make_set',
  'exp', 'floor', 'rand', 'json_keys', 'gtid_subset', 'geometrycollection', 'polygon', 'multipoint', 'linestring',
  'name_const', 'row', 'db_name', 'object_id', 'has_dbaccess', 'is_srvrolemember', 'len', 'nvl', 'ifnull', 'coalesce',
]);
const DELAY_FUNCTIONS = new Set(['sleep', 'benchmark', 'pg_sleep', 'randomblob']);
const MAX_TOKENS = 80;
/** What a value read as it stands needs to hold for any rule below to apply: most values are skipped in one scan. */
const STANDING_HINT = /[;()]|union|select|insert|update|delete|drop|create|alter|truncate|exec|waitfor|shutdown|declare|sleep|benchmark|\b(?:and|or|xor)\b|&&|\|\||set\s*@/i;

/** Reads SQL tokens from `s` starting at `from`. Unterminated strings and block comments run to the end. */
export function tokenizeSql(s: string, from = 0, limit = MAX_TOKENS): Token[] {
  const tokens: Token[] = [];
  let i = from;
  const n = s.length;
  while (i < n && tokens.length < limit) {
    const c = s[i];
    const code = s.charCodeAt(i);
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v' || code === 0xa0 || code === 0) {
      i++;
      continue;
    }
    if (c === '/' && s[i + 1] === '*') {
      if (s[i + 2] === '!') {
        // MySQL executable comment: its content is code; the version number is not.
        i += 3;
        while (i < n && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
        continue;
      }
      const close = s.indexOf('*/', i + 2);
      if (close < 0) {
        tokens.push({ type: 'comment', text: s.slice(i), start: i, end: n, open: true });
        break;
      }
      i = close + 2; // a closed comment is a blank (`UNION/**/SELECT`)
      continue;
    }
    if (c === '*' && s[i + 1] === '/') {
      i += 2; // the end of an executable comment
      continue;
    }
    if ((c === '-' && s[i + 1] === '-') || c === '#') {
      tokens.push({ type: 'comment', text: s.slice(i), start: i, end: n });
      break;
    }
    if (c === "'" || c === '"') {
      let j = i + 1;
      for (; j < n; j++) {
        if (s[j] === '\\') { j++; continue; }
        if (s[j] === c) {
          if (s[j + 1] === c) { j++; continue; }
          break;
        }
      }
      tokens.push({ type: 'str', text: s.slice(i, Math.min(j + 1, n)), start: i, end: Math.min(j + 1, n), open: j >= n });
      i = j + 1;
      continue;
    }
    if (c === '`') {
      const close = s.indexOf('`', i + 1);
      const end = close < 0 ? n : close + 1;
      tokens.push({ type: 'word', text: s.slice(i, end), start: i, end });
      i = end;
      continue;
    }
    if (isDigit(code) || (c === '.' && isDigit(s.charCodeAt(i + 1)))) {
      const m = /^(?:0x[0-9a-f]+|0b[01]+|[0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)/i.exec(s.slice(i, i + 40))!;
      let end = i + m[0].length;
      // `1abc` is a word, not a number followed by a word.
      if (end < n && isWordChar(s.charCodeAt(end))) {
        while (end < n && isWordChar(s.charCodeAt(end))) end++;
        tokens.push({ type: 'word', text: s.slice(i, end), start: i, end });
      } else tokens.push({ type: 'num', text: m[0], start: i, end });
      i = end;
      continue;
    }
    if (c === '@') {
      let j = i + 1;
      if (s[j] === '@') j++;
      while (j < n && isWordChar(s.charCodeAt(j))) j++;
      tokens.push({ type: j > i + 1 ? 'var' : 'op', text: s.slice(i, j), start: i, end: j });
      i = j;
      continue;
    }
    if (isWordStart(code)) {
      let j = i + 1;
      while (j < n && (isWordChar(s.charCodeAt(j)) || (s[j] === '.' && j + 1 < n && isWordStart(s.charCodeAt(j + 1)) && /^(dbms_|utl_|sys|master|information_schema|mysql|pg_)/i.test(s.slice(i, j))))) j++;
      const text = s.slice(i, j);
      const lower = text.toLowerCase();
      // A name followed by `(` (blanks and comments between allowed) is a call.
      let k = j;
      for (;;) {
        while (k < n && /\s/.test(s[k])) k++;
        if (s[k] === '/' && s[k + 1] === '*' && s[k + 2] !== '!') {
          const close = s.indexOf('*/', k + 2);
          if (close < 0) break;
          k = close + 2;
          continue;
        }
        break;
      }
      // Keywords stay keywords before `(` (`IN (`, `RLIKE (`, `UNION(`), except those that are also functions.
      const type: TokenType = s[k] === '(' && (!KEYWORDS.has(lower) || KEYWORD_FUNCTIONS.has(lower))
        ? 'fn'
        : KEYWORDS.has(lower) ? (COMPARISONS.has(lower) ? 'cmp' : 'kw') : 'word';
      tokens.push({ type, text: lower, start: i, end: j });
      i = j;
      continue;
    }
    const two = s.slice(i, i + 3);
    const op = /^(?:<=>|<>|!=|<=|>=|:=|\|\||&&|[=<>])/.exec(two);
    if (op) {
      const text = op[0];
      tokens.push({ type: text === '||' || text === '&&' ? 'op' : 'cmp', text, start: i, end: i + text.length });
      i += text.length;
      continue;
    }
    if ('()'.includes(c)) tokens.push({ type: c as '(' | ')', text: c, start: i, end: i + 1 });
    else if (c === ',') tokens.push({ type: ',', text: c, start: i, end: i + 1 });
    else if (c === ';') tokens.push({ type: ';', text: c, start: i, end: i + 1 });
    else if (c === '.') tokens.push({ type: '.', text: c, start: i, end: i + 1 });
    else tokens.push({ type: 'op', text: c, start: i, end: i + 1 });
    i++;
  }
  return tokens;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function isWordStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 36 || c > 0x7f;
}
function isWordChar(c: number): boolean {
  return isWordStart(c) || isDigit(c);
}

const isOperand = (t: Token | undefined) => t !== undefined && (t.type === 'num' || t.type === 'str' || t.type === 'word' || t.type === 'var' || t.type === 'fn' || t.type === '(' || (t.type === 'kw' && (t.text === 'true' || t.text === 'false' || t.text === 'null' || t.text === 'not' || t.text === 'select')));

/** The index just after the call that starts at tokens[i] (a `fn` token): its matching `)` or the end. */
function callEnd(tokens: Token[], i: number): number {
  let depth = 0;
  for (let j = i + 1; j < tokens.length; j++) {
    if (tokens[j].type === '(') depth++;
    else if (tokens[j].type === ')' && --depth === 0) return j + 1;
  }
  return tokens.length;
}

/** A comparison of two operands starting at tokens[i], e.g. `1=1`, `'a'='a`, `x LIKE 'y`, `1 IN (1)`. Its end index or -1. */
function comparisonAt(tokens: Token[], i: number): number {
  let j = i;
  if (tokens[j]?.type === 'kw' && tokens[j].text === 'not') j++;
  if (!isOperand(tokens[j])) return -1;
  j = tokens[j].type === 'fn' ? callEnd(tokens, j) : j + 1;
  // Arithmetic or concatenation inside the operand: `1+1=2`, `'a'||'b'='ab'`.
  while (tokens[j]?.type === 'op' && isOperand(tokens[j + 1]) && tokens[j].text !== '&&') j += 2;
  if (tokens[j]?.type === 'kw' && tokens[j].text === 'not') j++;
  if (tokens[j]?.type !== 'cmp') return -1;
  j++;
  if (tokens[j - 1].text === 'sounds' && tokens[j]?.text === 'like') j++;
  if (tokens[j]?.type === 'kw' && tokens[j].text === 'not') j++;
  if (!isOperand(tokens[j]) && tokens[j]?.type !== '(') return -1;
  return tokens[j].type === 'fn' ? callEnd(tokens, j) : j + 1;
}

/** Whether the query would end after tokens[i]: the end, a comment, or a closing quote left open for the query's own. */
function terminates(tokens: Token[], i: number): boolean {
  const t = tokens[i];
  return t === undefined || t.type === 'comment' || t.type === ';' || (t.type === 'str' && t.open === true && i === tokens.length - 1);
}

/** A comment that ends the value (at most a filler character or two after its marker, as in `-- -` or `--+`). */
function cutsOff(t: Token): boolean {
  const marker = t.text.startsWith('#') ? 1 : 2;
  return t.text.slice(marker).replace(/\*\/$/, '').trim().length <= 2;
}

function isSelectAt(tokens: Token[], i: number): boolean {
  while (tokens[i]?.type === '(') i++;
  return tokens[i]?.type === 'kw' && tokens[i].text === 'select';
}

/** A whole statement at tokens[i]: `DELETE FROM x`, `DROP TABLE x`, `INSERT INTO x`, `UPDATE x SET`, `SELECT … FROM`, `EXEC x`, `WAITFOR DELAY`, `SHUTDOWN`. End index or -1. */
function statementAt(tokens: Token[], i: number): number {
  const t = tokens[i];
  if (t?.type !== 'kw' && t?.type !== 'fn') return -1;
  const next = tokens[i + 1], after = tokens[i + 2];
  switch (t.text) {
    case 'select': {
      for (let j = i + 1; j < Math.min(tokens.length, i + 24); j++) if (tokens[j].type === 'kw' && tokens[j].text === 'from') return Math.min(j + 2, tokens.length);
      // SELECT with a telltale call or variable (`SELECT SLEEP(5)`, `SELECT @@version`).
      if (next && ((next.type === 'fn' && TELLTALE_FUNCTIONS.has(next.text)) || next.type === 'var')) return next.type === 'fn' ? callEnd(tokens, i + 1) : i + 2;
      return -1;
    }
    case 'delete': return next?.type === 'kw' && next.text === 'from' ? i + 3 : -1;
    case 'insert': return next?.type === 'kw' && next.text === 'into' ? i + 3 : -1;
    case 'drop': case 'create': case 'alter': case 'truncate':
      return next?.type === 'kw' && (next.text === 'table' || next.text === 'database' || next.text === 'user' || next.text === 'view' || next.text === 'procedure' || next.text === 'index' || next.text === 'schema') && after !== undefined ? i + 3 : -1;
    case 'update': return (next?.type === 'word' || next?.type === 'kw') && after?.type === 'kw' && after.text === 'set' ? i + 3 : -1;
    case 'exec': case 'execute': return next && (next.type === 'word' || next.type === 'fn' || next.type === 'var') ? (next.type === 'fn' ? callEnd(tokens, i + 1) : i + 2) : -1;
    case 'waitfor': return next?.type === 'kw' && (next.text === 'delay' || next.text === 'time') && after?.type === 'str' ? i + 3 : -1;
    case 'shutdown': return terminates(tokens, i + 1) ? i + 1 : -1;
    case 'declare': return next?.type === 'var' ? i + 2 : -1;
    case 'set': return next?.type === 'var' && tokens[i + 2]?.type === 'cmp' ? i + 3 : -1;
    default: return -1;
  }
}

/** What the tokens after a break say, or undefined when they do not continue a query. */
function continuation(tokens: Token[], strict: boolean, afterQuote = false): { construct: SqlConstruct; end: number } | undefined {
  let i = 0;
  // Breaking out of parentheses and value lists: `1) OR (1=1`, `')) UNION SELECT`, `','0');WAITFOR…` (an INSERT's VALUES).
  for (;;) {
    if (tokens[i]?.type === ')') i++;
    else if (tokens[i]?.type === ',' && isOperand(tokens[i + 1]) && tokens[i + 1].type !== '(') i += 2;
    else break;
  }
  const t = tokens[i];
  if (!t) return undefined;
  const end = (j: number) => tokens[Math.min(j, tokens.length) - 1]?.end ?? t.end;
  // A comment cutting the query off right after the break (`admin'--`, `x'#`): the comment must be the value's end,
  // not a dash in prose ("5'10\" -- Kim").
  if (t.type === 'comment') return strict || !cutsOff(t) ? undefined : { construct: 'comment_terminator', end: t.start + Math.min(t.text.length, 2) };
  if (t.type === ';') {
    const next = tokens[i + 1];
    const stmt = statementAt(tokens, i + 1);
    if (stmt > 0) return { construct: 'stacked_query', end: end(stmt) };
    // `';--` ends the query where the attacker wants it.
    if (!strict && (next === undefined || (next.type === 'comment' && cutsOff(next)))) return i > 0 || next ? { construct: 'comment_terminator', end: end(i + 2) } : undefined;
    if (next?.type === 'kw' && STATEMENT_STARTS.has(next.text) && !strict) return { construct: 'stacked_query', end: end(i + 2) };
    return undefined;
  }
  if (t.type === 'kw' && t.text === 'union') {
    let j = i + 1;
    if (tokens[j]?.type === 'kw' && (tokens[j].text === 'all' || tokens[j].text === 'distinct')) j++;
    if (isSelectAt(tokens, j)) return { construct: 'union_select', end: end(extendSelect(tokens, j)) };
    return undefined;
  }
  if ((t.type === 'kw' && (t.text === 'order' || t.text === 'group')) && tokens[i + 1]?.text === 'by') {
    const target = tokens[i + 2];
    const after = tokens[i + 3];
    // `ORDER BY 3`, or a column followed by the end of the query or more of the clause (`GROUP BY x HAVING 1=1`).
    const clauseGoesOn = after !== undefined && ((after.type === 'kw' && ['having', 'limit', 'asc', 'desc', 'procedure', 'into', 'union'].includes(after.text)) || after.type === ',');
    if (target?.type === 'num' || ((target?.type === 'word' || target?.type === 'fn') && (terminates(tokens, i + 3) || clauseGoesOn))) return { construct: 'order_by', end: end(i + 3) };
    return undefined;
  }
  // A comparison whose right side is a subquery or a telltale call: `1 RLIKE (SELECT …)`, `1=IF(…)`.
  if (t.type === 'cmp' && !strict) {
    let k = i + 1;
    while (tokens[k]?.type === '(' && !isSelectAt(tokens, k)) k++;
    const u = tokens[k];
    if (isSelectAt(tokens, k) || (u?.type === 'fn' && TELLTALE_FUNCTIONS.has(u.text))) return { construct: 'boolean', end: end(u?.type === 'fn' ? callEnd(tokens, k) : extendSelect(tokens, k)) };
  }
  if ((t.type === 'kw' && t.text === 'having') && comparisonAt(tokens, i + 1) > 0) return { construct: 'boolean', end: end(comparisonAt(tokens, i + 1)) };
  if ((t.type === 'kw' && (t.text === 'into')) && (tokens[i + 1]?.text === 'outfile' || tokens[i + 1]?.text === 'dumpfile')) return { construct: 'file_access', end: end(i + 3) };
  const stmt = statementAt(tokens, i);
  if (stmt > 0) return { construct: 'statement', end: end(stmt) };
  // MySQL's `PROCEDURE ANALYSE(…)` after a LIMIT or a number.
  if (t.type === 'kw' && t.text === 'procedure' && (tokens[i + 1]?.type === 'fn' || tokens[i + 1]?.type === 'word')) return { construct: 'statement', end: end(i + 2) };
  if ((t.type === 'kw' && BOOLEAN_OPS.has(t.text)) || (t.type === 'op' && BOOLEAN_OPS.has(t.text))) {
    const j = i + 1;
    let k = j;
    if (tokens[k]?.type === 'kw' && tokens[k].text === 'not') k++;
    while (tokens[k]?.type === '(') k++;
    const cmp = comparisonAt(tokens, k);
    if (cmp > 0) return { construct: 'boolean', end: end(cmp) };
    const u = tokens[k];
    if (u?.type === 'fn' && TELLTALE_FUNCTIONS.has(u.text)) return { construct: DELAY_FUNCTIONS.has(u.text) ? 'time_delay' : 'boolean', end: end(callEnd(tokens, k)) };
    if (isSelectAt(tokens, k) && k > j) return { construct: 'boolean', end: end(extendSelect(tokens, k)) };
    if (u?.type === 'kw' && u.text === 'exists') return { construct: 'boolean', end: end(k + 2) };
    // `' OR 1--`, `1 OR TRUE#`: a truthy operand and the rest of the query cut off.
    if (!strict && (u?.type === 'num' || (u?.type === 'kw' && (u.text === 'true' || u.text === 'false'))) && tokens[k + 1]?.type === 'comment') return { construct: 'boolean', end: end(k + 2) };
    // `' OR 'x`, `' AND 1`: a literal straight after the operator, where text would have a word.
    if (afterQuote && k === j && (u?.type === 'str' || u?.type === 'num')) return { construct: 'boolean_literal', end: end(k + 1) };
    return undefined;
  }
  if (t.type === 'kw' && t.text === 'waitfor') {
    const s = statementAt(tokens, i);
    return s > 0 ? { construct: 'time_delay', end: end(s) } : undefined;
  }
  // An operator joined to a call or subquery: `1-SLEEP(5)`, `'||pg_sleep(5)--`, `' + (SELECT …) + '`.
  if (t.type === 'op' && '+-*/|^%&'.includes(t.text[0])) {
    let k = i + 1;
    while (tokens[k]?.type === '(' && !isSelectAt(tokens, k)) k++;
    const u = tokens[k];
    if (u?.type === 'fn' && TELLTALE_FUNCTIONS.has(u.text)) return { construct: DELAY_FUNCTIONS.has(u.text) ? 'time_delay' : 'expression', end: end(callEnd(tokens, k)) };
    if (isSelectAt(tokens, k) && tokens[k].type === '(') return { construct: 'expression', end: end(extendSelect(tokens, k)) };
    return undefined;
  }
  // Comparison straight after the break: `'='`, `1'='1`… `admin' = 'admin` is a tautology as well.
  if (t.type === 'cmp' && (t.text === '=' || t.text === '<>' || t.text === '!=') && isOperand(tokens[i + 1]) && !strict) {
    const rest = tokens[i + 2];
    if (rest === undefined || terminates(tokens, i + 2) || (rest.type === 'kw' && BOOLEAN_OPS.has(rest.text))) return { construct: 'boolean', end: end(i + 2) };
  }
  return undefined;
}

/** After a SELECT at tokens[i]: up to its FROM target, or up to 8 tokens. */
function extendSelect(tokens: Token[], i: number): number {
  for (let j = i; j < Math.min(tokens.length, i + 24); j++) if (tokens[j].type === 'kw' && tokens[j].text === 'from') return Math.min(j + 2, tokens.length);
  return Math.min(tokens.length, i + 8);
}

/** The end of a match widened to close the parentheses it opened, and over a comment marker right after it (`--`, `#`). */
function widen(text: string, tokens: Token[], endPos: number): number {
  let depth = 0;
  let last = endPos;
  for (const t of tokens) {
    if (t.start >= endPos && depth <= 0) {
      const blank = text.slice(last, t.start).trim() === '';
      return t.type === 'comment' && blank ? t.start + (t.text.startsWith('#') ? 1 : 2) : last;
    }
    if (t.type === '(') depth++;
    else if (t.type === ')' && depth > 0) depth--;
    if (t.end > last) last = t.end;
  }
  return last;
}

/**
 * The SQL injection in a decoded value, if any: the first context whose break is followed by query grammar.
 * `start` is the break (the quote, or where the number ends), `end` the end of the grammar matched.
 */
export function findSqlInjection(text: string): SqlMatch | undefined {
  if (text.length < 2) return undefined;
  // Quote context: the value is inside '…' (or "…"), and its first quote closes it.
  for (const q of ["'", '"']) {
    const at = text.indexOf(q);
    if (at < 0) continue;
    const tokens = tokenizeSql(text, at + 1);
    const c = continuation(tokens, false, true);
    if (c) return { construct: c.construct, start: at, end: widen(text, tokens, c.end), context: 'quote' };
  }
  // Number context: `1 ORDER BY 1--`, `-1 UNION SELECT`, `5) OR (1=1`.
  const num = /^\s*[-+]?(?:0x[0-9a-f]+|[0-9]+(?:\.[0-9]+)?)(?![0-9a-z_])/i.exec(text);
  if (num) {
    const tokens = tokenizeSql(text, num[0].length);
    const c = continuation(tokens, false);
    if (c) return { construct: c.construct, start: tokens[0]?.start ?? num[0].length, end: widen(text, tokens, c.end), context: 'number' };
  }
  // As it stands: the value begins a continuation itself (`) OR 1=1--`, `; DROP TABLE x`, `OR 1=1`), or holds a whole statement or UNION SELECT.
  if (!STANDING_HINT.test(text)) return undefined;
  const tokens = tokenizeSql(text, 0);
  const first = tokens[0];
  // A subquery in place of the value: `(SELECT 1 FROM dual WHERE 1=1)`.
  if (first?.type === '(' && isSelectAt(tokens, 0) && statementAt(tokens, tokens.findIndex((t) => t.type === 'kw')) > 0) {
    return { construct: 'subquery', start: first.start, end: tokens[Math.min(tokens.length, extendSelect(tokens, 1)) - 1].end, context: 'number' };
  }
  if (first && (first.type === ')' || first.type === ';' || (first.type === 'kw' && (BOOLEAN_OPS.has(first.text) || first.text === 'union')) || (first.type === 'op' && BOOLEAN_OPS.has(first.text)))) {
    const c = continuation(tokens, false);
    if (c) return { construct: c.construct, start: first.start, end: widen(text, tokens, c.end), context: 'none' };
  }
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.type !== 'kw' && t.type !== ';' && t.type !== 'fn') continue;
    // A statement or UNION SELECT without a break must stand out: stacked after `;`, or followed by a comment or `;`.
    if (t.type === ';' || (t.type === 'kw' && t.text === 'union')) {
      const c = continuation(tokens.slice(i), true);
      if (c) return { construct: c.construct, start: t.start, end: c.end, context: 'none' };
      continue;
    }
    if (t.type === 'fn' && DELAY_FUNCTIONS.has(t.text) && (i === 0 || tokens[i - 1].type === 'kw' || tokens[i - 1].type === 'op')) {
      const e = callEnd(tokens, i);
      if (/^\(\s*[0-9]/.test(text.slice(t.end).replace(/^\s+/, '')) || terminates(tokens, e)) return { construct: 'time_delay', start: t.start, end: tokens[e - 1]?.end ?? t.end, context: 'none' };
    }
    const stmt = statementAt(tokens, i);
    if (stmt > 0 && (terminates(tokens, stmt) && tokens[stmt] !== undefined)) return { construct: 'statement', start: t.start, end: tokens[stmt - 1].end, context: 'none' };
  }
  return undefined;
}
