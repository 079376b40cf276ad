#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "redact.h"

/* Nesting beyond this is treated as not JSON (the reference's recursion would run out of stack
 * somewhere past it too); bodies are excerpts of a few KiB. */
#define MAX_PARSE_DEPTH 8192
#define SCAN_MAX_DEPTH 32

enum jtype { J_NULL, J_FALSE, J_TRUE, J_NUM, J_STR, J_ARR, J_OBJ };

struct jnode {
  uint8_t type;
  double num;
  size_t str, len;   /* J_STR: the decoded text in doc->strings */
  size_t kids, count; /* J_ARR: node indices; J_OBJ: (key string node, value node) pairs, in doc->kids */
};

struct json_doc {
  struct jnode *nodes;
  size_t nnodes, cap_nodes;
  size_t *kids;
  size_t nkids, cap_kids;
  size_t *stack;
  size_t nstack, cap_stack;
  buf_t strings;
  buf_t scratch;
  span_t *keys; /* the scan's keys of the objects being scanned */
  size_t nkeys, cap_keys;
};

json_doc_t *json_doc_new(void) { return calloc(1, sizeof(json_doc_t)); }

void json_doc_free(json_doc_t *doc) {
  if (!doc) return;
  free(doc->nodes);
  free(doc->kids);
  free(doc->stack);
  free(doc->keys);
  buf_free(&doc->strings);
  buf_free(&doc->scratch);
  free(doc);
}

#define GROW(ptr, n, cap)                                          \
  do {                                                             \
    if ((n) == (cap)) {                                            \
      (cap) = (cap) ? (cap) * 2 : 64;                              \
      void *grown = realloc((ptr), (cap) * sizeof(*(ptr)));        \
      if (!grown) abort();                                         \
      (ptr) = grown;                                               \
    }                                                              \
  } while (0)

/* ---- the shortcut (jsonUnchanged) ---- */

/* The end of an escape-free, control-free, astral-free string at i (s[i] == '"'), or 0. */
static size_t scan_string(const uint8_t *s, size_t n, size_t i) {
  for (i++; i < n; i++) {
    uint8_t c = s[i];
    if (c == '"') return i + 1;
    if (c < 32 || c == '\\' || c >= 0xF0) return 0; /* 4-byte UTF-8: a surrogate pair in UTF-16 */
  }
  return 0;
}

static long scan_value(redactor_t *r, json_doc_t *d, const uint8_t *s, size_t n, size_t i, int depth);

static long scan_object(redactor_t *r, json_doc_t *d, const uint8_t *s, size_t n, size_t i, int depth) {
  i++;
  if (i < n && s[i] == '}') return (long)i + 1;
  size_t keys_base = d->nkeys;
  long result = -1;
  for (;;) {
    if (i >= n || s[i] != '"') break;
    size_t key_end = scan_string(s, n, i);
    if (!key_end) break;
    span_t key = span_of(s + i + 1, key_end - i - 2);
    bool digits = key.n > 0;
    for (size_t k = 0; k < key.n && digits; k++) digits = is_digit(key.p[k]);
    if (digits || span_eq_cstr(key, "__proto__")) break;
    bool duplicate = false;
    for (size_t k = keys_base; k < d->nkeys && !duplicate; k++) duplicate = span_eq(d->keys[k], key);
    if (duplicate || redact_sensitive_field(r, key)) break;
    GROW(d->keys, d->nkeys, d->cap_keys);
    d->keys[d->nkeys++] = key;
    if (key_end >= n || s[key_end] != ':') break;
    long next = scan_value(r, d, s, n, key_end + 1, depth);
    if (next < 0) break;
    i = (size_t)next;
    if (i < n && s[i] == '}') {
      result = (long)i + 1;
      break;
    }
    if (i >= n || s[i] != ',') break;
    i++;
  }
  d->nkeys = keys_base;
  return result;
}

static long scan_value(redactor_t *r, json_doc_t *d, const uint8_t *s, size_t n, size_t i, int depth) {
  if (i >= n) return -1;
  uint8_t c = s[i];
  if (c == '"') {
    size_t end = scan_string(s, n, i);
    if (!end) return -1;
    span_t value = span_of(s + i + 1, end - i - 2);
    d->scratch.len = 0;
    redact_scrub(r, value, false, &d->scratch);
    return span_eq(value, span_of(d->scratch.p, d->scratch.len)) ? (long)end : -1;
  }
  if (c == '{') return depth < SCAN_MAX_DEPTH ? scan_object(r, d, s, n, i, depth + 1) : -1;
  if (c == '[') {
    if (depth >= SCAN_MAX_DEPTH) return -1;
    i++;
    if (i < n && s[i] == ']') return (long)i + 1;
    for (;;) {
      long next = scan_value(r, d, s, n, i, depth + 1);
      if (next < 0) return -1;
      i = (size_t)next;
      if (i < n && s[i] == ']') return (long)i + 1;
      if (i >= n || s[i] != ',') return -1;
      i++;
    }
  }
  if (c == '-' || is_digit(c)) {
    size_t start = i;
    if (c == '-') i++;
    if (i >= n || !is_digit(s[i])) return -1;
    uint8_t first = s[i];
    size_t from = i;
    while (i < n && is_digit(s[i])) i++;
    size_t digits = i - from;
    if (digits > 12 || (first == '0' && (digits > 1 || c == '-'))) return -1;
    if (i < n && (s[i] == '.' || s[i] == 'e' || s[i] == 'E')) return -1;
    return i > start ? (long)i : -1;
  }
  if (i + 4 <= n && memcmp(s + i, "true", 4) == 0) return (long)i + 4;
  if (i + 5 <= n && memcmp(s + i, "false", 5) == 0) return (long)i + 5;
  if (i + 4 <= n && memcmp(s + i, "null", 4) == 0) return (long)i + 4;
  return -1;
}

bool json_unchanged(redactor_t *r, json_doc_t *doc, span_t text) {
  doc->nkeys = 0;
  return scan_value(r, doc, text.p, text.n, 0, 0) == (long)text.n;
}

/* ---- JSON.parse ---- */

struct parser {
  json_doc_t *d;
  const uint8_t *s;
  size_t n, i;
};

static size_t new_node(json_doc_t *d, uint8_t type) {
  GROW(d->nodes, d->nnodes, d->cap_nodes);
  struct jnode *node = &d->nodes[d->nnodes];
  memset(node, 0, sizeof(*node));
  node->type = type;
  return d->nnodes++;
}

static void push(json_doc_t *d, size_t v) {
  GROW(d->stack, d->nstack, d->cap_stack);
  d->stack[d->nstack++] = v;
}

static void skip_ws(struct parser *p) {
  while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r')) p->i++;
}

static int hex4(const uint8_t *s) {
  int v = 0;
  for (int k = 0; k < 4; k++) {
    uint8_t c = s[k];
    int h = is_digit(c) ? c - '0' : ((c | 32) >= 'a' && (c | 32) <= 'f') ? (c | 32) - 'a' + 10 : -1;
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

/* A string at p->i (the opening quote), decoded into doc->strings (WTF-8); its node. */
static bool parse_string(struct parser *p, size_t *out) {
  json_doc_t *d = p->d;
  size_t start = d->strings.len;
  p->i++;
  while (p->i < p->n) {
    uint8_t c = p->s[p->i];
    if (c == '"') {
      p->i++;
      size_t node = new_node(d, J_STR);
      d->nodes[node].str = start;
      d->nodes[node].len = d->strings.len - start;
      *out = node;
      return true;
    }
    if (c < 0x20) return false;
    if (c != '\\') {
      size_t run = p->i;
      while (run < p->n && p->s[run] != '"' && p->s[run] != '\\' && p->s[run] >= 0x20) run++;
      buf_add(&d->strings, p->s + p->i, run - p->i);
      p->i = run;
      continue;
    }
    if (p->i + 1 >= p->n) return false;
    uint8_t e = p->s[p->i + 1];
    p->i += 2;
    switch (e) {
    case '"': buf_addc(&d->strings, '"'); break;
    case '\\': buf_addc(&d->strings, '\\'); break;
    case '/': buf_addc(&d->strings, '/'); break;
    case 'b': buf_addc(&d->strings, '\b'); break;
    case 'f': buf_addc(&d->strings, '\f'); break;
    case 'n': buf_addc(&d->strings, '\n'); break;
    case 'r': buf_addc(&d->strings, '\r'); break;
    case 't': buf_addc(&d->strings, '\t'); break;
    case 'u': {
      if (p->i + 4 > p->n) return false;
      int u = hex4(p->s + p->i);
      if (u < 0) return false;
      p->i += 4;
      uint32_t cp = (uint32_t)u;
      if (cp >= 0xD800 && cp <= 0xDBFF && p->i + 6 <= p->n && p->s[p->i] == '\\' && p->s[p->i + 1] == 'u') {
        int lo = hex4(p->s + p->i + 2);
        if (lo >= 0xDC00 && lo <= 0xDFFF) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
          p->i += 6;
        }
      }
      utf8_put(&d->strings, cp);
      break;
    }
    default:
      return false;
    }
  }
  return false;
}

static bool parse_number(struct parser *p, size_t *out) {
  const uint8_t *s = p->s;
  size_t n = p->n, i = p->i, start = i;
  if (i < n && s[i] == '-') i++;
  if (i >= n || !is_digit(s[i])) return false;
  if (s[i] == '0') i++;
  else
    while (i < n && is_digit(s[i])) i++;
  if (i < n && s[i] == '.') {
    i++;
    if (i >= n || !is_digit(s[i])) return false;
    while (i < n && is_digit(s[i])) i++;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    if (i >= n || !is_digit(s[i])) return false;
    while (i < n && is_digit(s[i])) i++;
  }
  char local[64];
  size_t len = i - start;
  char *text = len < sizeof(local) ? local : malloc(len + 1);
  memcpy(text, s + start, len);
  text[len] = 0;
  size_t node = new_node(p->d, J_NUM);
  p->d->nodes[node].num = strtod(text, NULL);
  if (text != local) free(text);
  p->i = i;
  *out = node;
  return true;
}

/* JavaScript's array-index keys ("0", "17", ... up to 2^32 - 2) are ordered first, ascending. */
static bool array_index(span_t key, uint64_t *value) {
  if (key.n == 0 || key.n > 10 || (key.n > 1 && key.p[0] == '0')) return false;
  uint64_t v = 0;
  for (size_t k = 0; k < key.n; k++) {
    if (!is_digit(key.p[k])) return false;
    v = v * 10 + (key.p[k] - '0');
  }
  if (v > 4294967294ull) return false;
  *value = v;
  return true;
}

static span_t node_text(json_doc_t *d, size_t node) { return span_of(d->strings.p + d->nodes[node].str, d->nodes[node].len); }

static bool parse_value(struct parser *p, size_t *out, int depth);

/* After a list item: 1 another follows (',' taken), 0 the list ends (`close` taken), -1 error. */
static int list_next(struct parser *p, uint8_t close) {
  skip_ws(p);
  if (p->i < p->n && (p->s[p->i] == ',' || p->s[p->i] == close)) return p->s[p->i++] == ',';
  return -1;
}

/* Members as JavaScript keeps them: a repeated key keeps its first place and takes the last value;
 * array-index keys first in numeric order, then the others in order of first appearance. */
static void settle_object(json_doc_t *d, size_t node, size_t base) {
  size_t members = (d->nstack - base) / 2;
  size_t *m = d->stack + base;
  size_t kept = 0;
  for (size_t k = 0; k < members; k++) {
    span_t key = node_text(d, m[2 * k]);
    size_t at = kept;
    for (size_t j = 0; j < kept; j++)
      if (span_eq(node_text(d, m[2 * j]), key)) {
        at = j;
        break;
      }
    if (at < kept) {
      m[2 * at + 1] = m[2 * k + 1];
    } else {
      m[2 * kept] = m[2 * k];
      m[2 * kept + 1] = m[2 * k + 1];
      kept++;
    }
  }
  d->nodes[node].kids = d->nkids;
  d->nodes[node].count = kept;
  /* index keys, sorted (insertion sort: objects are small) */
  size_t first = d->nkids;
  for (size_t k = 0; k < kept; k++) {
    uint64_t v;
    if (!array_index(node_text(d, m[2 * k]), &v)) continue;
    GROW(d->kids, d->nkids, d->cap_kids);
    d->kids[d->nkids++] = m[2 * k];
    GROW(d->kids, d->nkids, d->cap_kids);
    d->kids[d->nkids++] = m[2 * k + 1];
    for (size_t j = d->nkids - 2; j > first; j -= 2) {
      uint64_t a, b;
      array_index(node_text(d, d->kids[j - 2]), &a);
      array_index(node_text(d, d->kids[j]), &b);
      if (a <= b) break;
      size_t tk = d->kids[j], tv = d->kids[j + 1];
      d->kids[j] = d->kids[j - 2];
      d->kids[j + 1] = d->kids[j - 1];
      d->kids[j - 2] = tk;
      d->kids[j - 1] = tv;
    }
  }
  for (size_t k = 0; k < kept; k++) {
    uint64_t v;
    if (array_index(node_text(d, m[2 * k]), &v)) continue;
    GROW(d->kids, d->nkids, d->cap_kids);
    d->kids[d->nkids++] = m[2 * k];
    GROW(d->kids, d->nkids, d->cap_kids);
    d->kids[d->nkids++] = m[2 * k + 1];
  }
  d->nstack = base;
}

static bool parse_value(struct parser *p, size_t *out, int depth) {
  json_doc_t *d = p->d;
  if (depth > MAX_PARSE_DEPTH) return false;
  skip_ws(p);
  if (p->i >= p->n) return false;
  uint8_t c = p->s[p->i];
  if (c == '"') return parse_string(p, out);
  if (c == '-' || is_digit(c)) return parse_number(p, out);
  if (c == 't' || c == 'f' || c == 'n') {
    const char *lit = c == 't' ? "true" : c == 'f' ? "false" : "null";
    size_t k = strlen(lit);
    if (p->i + k > p->n || memcmp(p->s + p->i, lit, k) != 0) return false;
    p->i += k;
    *out = new_node(d, c == 't' ? J_TRUE : c == 'f' ? J_FALSE : J_NULL);
    return true;
  }
  if (c == '[') {
    p->i++;
    size_t base = d->nstack;
    skip_ws(p);
    if (p->i < p->n && p->s[p->i] == ']') {
      p->i++;
    } else {
      for (;;) {
        size_t v;
        if (!parse_value(p, &v, depth + 1)) return false;
        push(d, v);
        int more = list_next(p, ']');
        if (more < 0) return false;
        if (!more) break;
      }
    }
    size_t node = new_node(d, J_ARR);
    d->nodes[node].kids = d->nkids;
    d->nodes[node].count = d->nstack - base;
    for (size_t k = base; k < d->nstack; k++) {
      GROW(d->kids, d->nkids, d->cap_kids);
      d->kids[d->nkids++] = d->stack[k];
    }
    d->nstack = base;
    *out = node;
    return true;
  }
  if (c == '{') {
    p->i++;
    size_t base = d->nstack;
    skip_ws(p);
    if (p->i < p->n && p->s[p->i] == '}') {
      p->i++;
    } else {
      for (;;) {
        skip_ws(p);
        size_t key, v;
        if (p->i >= p->n || p->s[p->i] != '"' || !parse_string(p, &key)) return false;
        skip_ws(p);
        if (p->i >= p->n || p->s[p->i] != ':') return false;
        p->i++;
        if (!parse_value(p, &v, depth + 1)) return false;
        push(d, key);
        push(d, v);
        int more = list_next(p, '}');
        if (more < 0) return false;
        if (!more) break;
      }
    }
    size_t node = new_node(d, J_OBJ);
    settle_object(d, node, base);
    *out = node;
    return true;
  }
  return false;
}

/* ---- redact and JSON.stringify ---- */

void json_quote(buf_t *out, span_t s) {
  static const char hex[] = "0123456789abcdef";
  buf_addc(out, '"');
  size_t i = 0;
  while (i < s.n) {
    uint8_t c = s.p[i];
    if (c >= 0x20 && c != '"' && c != '\\' && c != 0xED) {
      size_t run = i + 1;
      while (run < s.n && s.p[run] >= 0x20 && s.p[run] != '"' && s.p[run] != '\\' && s.p[run] != 0xED) run++;
      buf_add(out, s.p + i, run - i);
      i = run;
      continue;
    }
    if (c == 0xED) { /* ED A0..BF xx: a lone surrogate (WTF-8): JSON.stringify escapes it */
      size_t j = i;
      uint32_t cp = utf8_next(s.p, s.n, &j);
      if (cp >= 0xD800 && cp <= 0xDFFF) {
        char e[7] = {'\\', 'u', hex[cp >> 12], hex[(cp >> 8) & 15], hex[(cp >> 4) & 15], hex[cp & 15], 0};
        buf_add(out, e, 6);
      } else {
        buf_add(out, s.p + i, j - i);
      }
      i = j;
      continue;
    }
    switch (c) {
    case '"': buf_adds(out, "\\\""); break;
    case '\\': buf_adds(out, "\\\\"); break;
    case '\b': buf_adds(out, "\\b"); break;
    case '\f': buf_adds(out, "\\f"); break;
    case '\n': buf_adds(out, "\\n"); break;
    case '\r': buf_adds(out, "\\r"); break;
    case '\t': buf_adds(out, "\\t"); break;
    default: {
      char e[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
      buf_add(out, e, 6);
    }
    }
    i++;
  }
  buf_addc(out, '"');
}

static void emit(redactor_t *r, json_doc_t *d, size_t node, buf_t *out) {
  struct jnode *j = &d->nodes[node];
  switch (j->type) {
  case J_NULL: buf_adds(out, "null"); return;
  case J_TRUE: buf_adds(out, "true"); return;
  case J_FALSE: buf_adds(out, "false"); return;
  case J_NUM: {
    char text[40];
    size_t len = js_number(j->num, text);
    bool card = len >= 13 && len <= 19;
    for (size_t k = 0; k < len && card; k++) card = is_digit((uint8_t)text[k]);
    if (card && luhn_valid((const uint8_t *)text, len)) {
      buf_adds(out, "\"[REDACTED:card]\"");
    } else if (!isfinite(j->num)) {
      buf_adds(out, "null");
    } else {
      buf_add(out, text, len);
    }
    return;
  }
  case J_STR: {
    size_t mark = d->scratch.len;
    redact_scrub(r, node_text(d, node), false, &d->scratch);
    /* the scrubbed text sits at the end of scratch; quote it, then drop it */
    json_quote(out, span_of(d->scratch.p + mark, d->scratch.len - mark));
    d->scratch.len = mark;
    return;
  }
  case J_ARR:
    buf_addc(out, '[');
    for (size_t k = 0; k < j->count; k++) {
      if (k) buf_addc(out, ',');
      emit(r, d, d->kids[d->nodes[node].kids + k], out);
    }
    buf_addc(out, ']');
    return;
  case J_OBJ:
    buf_addc(out, '{');
    for (size_t k = 0; k < d->nodes[node].count; k++) {
      size_t key = d->kids[d->nodes[node].kids + 2 * k], value = d->kids[d->nodes[node].kids + 2 * k + 1];
      if (k) buf_addc(out, ',');
      json_quote(out, node_text(d, key));
      buf_addc(out, ':');
      if (d->nodes[value].type != J_NULL && redact_sensitive_field(r, node_text(d, key)))
        buf_adds(out, "\"[REDACTED:field]\"");
      else
        emit(r, d, value, out);
    }
    buf_addc(out, '}');
    return;
  }
}

bool json_redact(redactor_t *r, json_doc_t *d, span_t text, buf_t *out) {
  d->nnodes = d->nkids = d->nstack = 0;
  d->strings.len = d->scratch.len = 0;
  struct parser p = {d, text.p, text.n, 0};
  size_t root;
  if (!parse_value(&p, &root, 0)) return false;
  skip_ws(&p);
  if (p.i != p.n) return false;
  emit(r, d, root, out);
  return true;
}
