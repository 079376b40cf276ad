#define _GNU_SOURCE
#include "redact.h"

#include <math.h>
#include <stdlib.h>

#include "json.h"

#define MASK(kind) "[REDACTED:" kind "]"

/* ---- verdict caches: names repeat on every message; deciding costs a normalization and a
 * dozen substring searches. Direct-mapped, so a new name simply replaces an old one. */

#define VERDICT_SLOTS 4096
#define VERDICT_NAME_MAX 64

struct verdict_slot {
  uint64_t hash;
  uint8_t len;
  uint8_t verdict;
  uint8_t used;
  uint8_t name[VERDICT_NAME_MAX];
};

/* Short texts the patterns leave as they are (header values, JSON strings, query values recur):
 * the scrub is a pure function of the text, so the verdict is kept. A text with a secret is never
 * kept. Direct-mapped. */
#define CLEAN_SLOTS 4096
#define CLEAN_MAX 64

struct clean_slot {
  uint64_t hash;
  uint8_t len, used;
  uint8_t text[CLEAN_MAX];
};

struct redactor {
  struct clean_slot *clean;
  char **headers;
  size_t nheaders;
  char **fields;
  size_t nfields;
  struct verdict_slot *field_cache, *header_cache;
  buf_t norm;
  buf_t scrub_a, scrub_b;
  buf_t pair_name, pair_value, pair_scrubbed;
  buf_t url_scrubbed;
  buf_t body_a, body_b;
  json_doc_t *json;
};

static char **copy_strings(const char *const *list, size_t n) {
  char **out = calloc(n ? n : 1, sizeof(char *));
  for (size_t i = 0; i < n; i++) out[i] = strdup(list[i]);
  return out;
}

redactor_t *redactor_new(const char *const *headers, size_t nheaders, const char *const *fields, size_t nfields) {
  redactor_t *r = calloc(1, sizeof(*r));
  r->headers = copy_strings(headers, nheaders);
  r->nheaders = nheaders;
  r->fields = copy_strings(fields, nfields);
  r->nfields = nfields;
  r->field_cache = calloc(VERDICT_SLOTS, sizeof(struct verdict_slot));
  r->clean = calloc(CLEAN_SLOTS, sizeof(struct clean_slot));
  r->header_cache = calloc(VERDICT_SLOTS, sizeof(struct verdict_slot));
  r->json = json_doc_new();
  return r;
}

void redactor_free(redactor_t *r) {
  if (!r) return;
  for (size_t i = 0; i < r->nheaders; i++) free(r->headers[i]);
  for (size_t i = 0; i < r->nfields; i++) free(r->fields[i]);
  free(r->headers);
  free(r->fields);
  free(r->field_cache);
  free(r->clean);
  free(r->header_cache);
  buf_t *bufs[] = {&r->norm, &r->scrub_a, &r->scrub_b, &r->pair_name, &r->pair_value, &r->pair_scrubbed,
                   &r->url_scrubbed, &r->body_a, &r->body_b};
  for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++) buf_free(bufs[i]);
  json_doc_free(r->json);
  free(r);
}

static struct verdict_slot *cache_find(struct verdict_slot *table, span_t name, uint64_t *hash) {
  if (name.n > VERDICT_NAME_MAX) return NULL;
  uint64_t h = hash_bytes(name.p, name.n);
  *hash = h;
  struct verdict_slot *slot = &table[h & (VERDICT_SLOTS - 1)];
  return slot;
}

static bool cache_hit(struct verdict_slot *slot, span_t name, uint64_t hash) {
  return slot && slot->used && slot->hash == hash && slot->len == name.n && memcmp(slot->name, name.p, name.n) == 0;
}

static void cache_store(struct verdict_slot *slot, span_t name, uint64_t hash, uint8_t verdict) {
  if (!slot) return;
  slot->used = 1;
  slot->hash = hash;
  slot->len = (uint8_t)name.n;
  slot->verdict = verdict;
  memcpy(slot->name, name.p, name.n);
}

/* ---- field names ---- */

static const char *const SENSITIVE_EXACT[] = {
    "pass", "pwd",  "pw",         "pin",      "ssn",        "cvv",  "cvc",       "cvv2", "auth",
    "sid",  "session", "sessionid", "cookie",  "otp",        "mfa",  "iban",      "pan",  "cardnumber",
    "ccnumber", "creditcard", "card", "signature", "sig", "code", "key",
};
static const char *const SENSITIVE_PARTS[] = {
    "password", "passwd",        "passphrase", "secret",     "token",        "apikey",      "accesskey",
    "privatekey", "credential", "authorization", "clientsecret", "sessionkey", "securitycode",
};
static const char *const ALWAYS_MASKED_HEADERS[] = {
    "authorization", "proxy-authorization", "cookie",       "set-cookie",  "x-api-key",   "api-key",
    "x-auth-token",  "x-access-token",      "x-amz-security-token", "x-csrf-token", "x-xsrf-token", "x-goog-api-key",
};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* name.toLowerCase().replace(/[^a-z0-9]/g, ''): only İ (U+0130) and the Kelvin sign (U+212A)
 * lower-case into ASCII letters outside ASCII itself. */
static void normalize_field(buf_t *out, span_t name) {
  out->len = 0;
  size_t i = 0;
  while (i < name.n) {
    uint8_t c = name.p[i];
    if (c < 0x80) {
      c = ascii_lower(c);
      if (is_digit(c) || (c >= 'a' && c <= 'z')) buf_addc(out, c);
      i++;
      continue;
    }
    uint32_t cp = utf8_next(name.p, name.n, &i);
    if (cp == 0x130) buf_addc(out, 'i');
    else if (cp == 0x212A) buf_addc(out, 'k');
  }
}

static bool decide_field(redactor_t *r, span_t name) {
  normalize_field(&r->norm, name);
  span_t norm = span_of(r->norm.p, r->norm.len);
  if (norm.n == 0) return false;
  for (size_t i = 0; i < COUNT(SENSITIVE_EXACT); i++)
    if (span_eq_cstr(norm, SENSITIVE_EXACT[i])) return true;
  for (size_t i = 0; i < COUNT(SENSITIVE_PARTS); i++)
    if (memmem(norm.p, norm.n, SENSITIVE_PARTS[i], strlen(SENSITIVE_PARTS[i]))) return true;
  for (size_t i = 0; i < r->nfields; i++)
    if (span_eq_cstr(norm, r->fields[i])) return true;
  return false;
}

bool redact_sensitive_field(redactor_t *r, span_t name) {
  uint64_t h = 0;
  struct verdict_slot *slot = cache_find(r->field_cache, name, &h);
  if (cache_hit(slot, name, h)) return slot->verdict;
  bool v = decide_field(r, name);
  cache_store(slot, name, h, v);
  return v;
}

enum header_verdict redact_header_verdict(redactor_t *r, span_t name) {
  uint64_t h = 0;
  struct verdict_slot *slot = cache_find(r->header_cache, name, &h);
  if (cache_hit(slot, name, h)) return (enum header_verdict)slot->verdict;
  uint8_t lower_bytes[256];
  buf_t heap = {0};
  uint8_t *lower = name.n <= sizeof(lower_bytes) ? lower_bytes : (buf_grow(&heap, name.n), heap.p);
  for (size_t i = 0; i < name.n; i++) lower[i] = ascii_lower(name.p[i]);
  span_t l = span_of(lower, name.n);
  bool sensitive = false;
  for (size_t i = 0; i < COUNT(ALWAYS_MASKED_HEADERS) && !sensitive; i++) sensitive = span_eq_cstr(l, ALWAYS_MASKED_HEADERS[i]);
  for (size_t i = 0; i < r->nheaders && !sensitive; i++) sensitive = span_eq_cstr(l, r->headers[i]);
  if (!sensitive) sensitive = decide_field(r, l);
  enum header_verdict v = sensitive ? HV_MASK : (span_eq_cstr(l, "referer") || span_eq_cstr(l, "location")) ? HV_URL : HV_SCRUB;
  buf_free(&heap);
  cache_store(slot, name, h, v);
  return v;
}

/* ---- secret shapes ---- */

static inline bool starts(const uint8_t *s, size_t n, size_t i, const char *lit) {
  size_t k = strlen(lit);
  return i + k <= n && memcmp(s + i, lit, k) == 0;
}
static inline bool starts_ci(const uint8_t *s, size_t n, size_t i, const char *lower) {
  size_t k = strlen(lower);
  if (i + k > n) return false;
  for (size_t j = 0; j < k; j++)
    if (ascii_lower(s[i + j]) != (uint8_t)lower[j]) return false;
  return true;
}
/* \b at i: a word character on exactly one side. */
static inline bool boundary(const uint8_t *s, size_t n, size_t i) {
  bool before = i > 0 && is_word(s[i - 1]);
  bool after = i < n && is_word(s[i]);
  return before != after;
}
/* \b before a word character at i. */
static inline bool word_start(const uint8_t *s, size_t i) { return i == 0 || !is_word(s[i - 1]); }

typedef bool (*char_class)(uint8_t c);
static bool cls_b64url(uint8_t c) { return is_alnum(c) || c == '_' || c == '-'; }
static bool cls_token68(uint8_t c) {
  return is_alnum(c) || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '=' || c == '-';
}
static bool cls_upper_digit(uint8_t c) { return (c >= 'A' && c <= 'Z') || is_digit(c); }
static bool cls_alnum(uint8_t c) { return is_alnum(c); }
static bool cls_word(uint8_t c) { return is_word(c); }
static bool cls_alnum_dash(uint8_t c) { return is_alnum(c) || c == '-'; }
static bool cls_azure(uint8_t c) { return is_alnum(c) || c == '%' || c == '+' || c == '/' || c == '='; }
static bool cls_scheme(uint8_t c) { return is_alnum(c) || c == '+' || c == '.' || c == '-'; }

static size_t run_of(const uint8_t *s, size_t n, size_t i, char_class cls) {
  size_t j = i;
  while (j < n && cls(s[j])) j++;
  return j - i;
}

/* `[cls]{min,}\b` after i: the longest run (greedy, backing off) that ends on a word boundary. */
static bool run_then_boundary(const uint8_t *s, size_t n, size_t i, char_class cls, size_t min, size_t *end) {
  size_t run = run_of(s, n, i, cls);
  for (size_t k = run; k >= min && k > 0; k--) {
    if (boundary(s, n, i + k)) {
      *end = i + k;
      return true;
    }
  }
  return false;
}

/* -----BEGIN [A-Z ]*PRIVATE KEY----- at i: its end. */
static bool key_armor(const uint8_t *s, size_t n, size_t i, const char *word, size_t *end) {
  if (!starts(s, n, i, word)) return false;
  size_t a = i + strlen(word), r = a;
  while (r < n && ((s[r] >= 'A' && s[r] <= 'Z') || s[r] == ' ')) r++;
  if (r - a < 11 || memcmp(s + r - 11, "PRIVATE KEY", 11) != 0 || !starts(s, n, r, "-----")) return false;
  *end = r + 5;
  return true;
}

static bool m_private_key(const uint8_t *s, size_t n, size_t p, size_t *end, size_t *keep) {
  size_t i;
  if (s[p] != '-' || !key_armor(s, n, p, "-----BEGIN ", &i)) return false;
  for (size_t x = i; x <= n; x++) { /* lazy: the first END (or the end of the text) */
    if (x == n) {
      *end = n;
      return true;
    }
    if (s[x] == '-' && key_armor(s, n, x, "-----END ", end)) return true;
  }
  return false;
}

static bool m_jwt(const uint8_t *s, size_t n, size_t p, size_t *end, size_t *keep) {
  if (s[p] != 'e' || !starts(s, n, p, "eyJ") || !word_start(s, p)) return false;
  size_t i = p + 3, run = run_of(s, n, i, cls_b64url);
  if (run < 6) return false;
  i += run;
  for (int k = 0; k < 2 && i < n && s[i] == '.'; k++) i += 1 + run_of(s, n, i + 1, cls_b64url);
  *end = i;
  return true;
}

static bool m_bearer(const uint8_t *s, size_t n, size_t p, size_t *end, size_t *keep) {
  static const char *const words[] = {"bearer", "basic", "digest", "token", "negotiate"};
  uint8_t c = ascii_lower(s[p]);
  if ((c != 'b' && c != 'd' && c != 't' && c != 'n') || !word_start(s, p)) return false;
  for (size_t w = 0; w < COUNT(words); w++) {
    if (!starts_ci(s, n, p, words[w])) continue;
    size_t i = p + strlen(words[w]), len, spaces = i;
    while (i < n && js_space_at(s, n, i, &len)) i += len;
    if (i == spaces) return false;
    size_t run = run_of(s, n, i, cls_token68);
    if (run < 6) return false;
    *keep = i - p;
    *end = i + run;
    return true;
  }
  return false;
}

static bool m_aws_key(const uint8_t *s, size_t n, size_t p, size_t *end, size_t *keep) {
  static const char *const prefixes[] = {"AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "AIPA"};
  if (s[p] != 'A' || p + 20 > n || !word_start(s, p)) return false;
  bool ok = false;
  for (size_t k = 0; k < COUNT(prefixes) && !ok; k++) ok = memcmp(s + p, prefixes[k], 4) == 0;
  if (!ok) ok = s[p + 1] == '3' && s[p + 2] == 'T' && cls_upper_digit(s[p + 3]);
  if (!ok) return false;
  for (size_t k = p + 4; k < p + 20; k++)
    if (!cls_upper_digit(s[k])) return false;
  if (!boundary(s, n, p + 20)) return false;
  *end = p + 20;
  return true;
}

static bool m_gcp_key(const uint8_t *s, size_t n, size_t p, size_t *end, size_t *keep) {
  if (s[p] != 'A' || !starts(s, n, p, "AIza") || p + 39 > n || !word_start(s, p)) return false;
  for (size_t k = p + 4; k < p + 39; k++)
    if (!cls_b64url(s[k])) return false;
  if (!boundary(s, n, p + 39)) return false;
  *end = p + 39;
  return true;
}

static bool m_github(const uint8_t *s, size_t n, size_t p, size_t *end, size_t *keep) {
  if (s[p] != 'g' || !word_start(s, p)) return false;
  if (p + 4 <= n && s[p + 1] == 'h' && strchr("pousr", s[p + 2]) && s[p + 2] && s[p + 3] == '_' &&
      run_then_boundary(s, n, p + 4, cls_alnum, 30, end))
    return true;
  return starts(s, n, p, "github_pat_") && run_then_boundary(s, n, p + 11, cls_word, 22, end);
}

static bool m_slack(const uint8_t *s, size_t n, size_t p, size_t *end, size_t *keep) {
  if (s[p] != 'x' || !starts(s, n, p, "xox") || p + 5 > n || !word_start(s, p)) return false;
  if (!s[p + 3] || !strchr("abposr", s[p + 3]) || s[p + 4] != '-') return false;
  return run_then_boundary(s, n, p + 5, cls_alnum_dash, 10, end);
}

static bool m_stripe(const uint8_t *s, size_t n, size_t p, size_t *end, size_t *keep) {
  if ((s[p] != 's' && s[p] != 'r' && s[p] != 'p') || p + 8 > n || s[p + 1] != 'k' || s[p + 2] != '_' || !word_start(s, p))
    return false;
  if (!starts(s, n, p + 3, "live_") && !starts(s, n, p + 3, "test_")) return false;
  return run_then_boundary(s, n, p + 8, cls_alnum, 16, end);
}

static bool m_api_key(const uint8_t *s, size_t n, size_t p, size_t *end, size_t *keep) {
  if (s[p] != 's' || !starts(s, n, p, "sk-") || !word_start(s, p)) return false;
  size_t i = p + 3;
  if (starts(s, n, i, "proj-") && run_then_boundary(s, n, i + 5, cls_b64url, 20, end)) return true;
  if (starts(s, n, i, "ant-") && run_then_boundary(s, n, i + 4, cls_b64url, 20, end)) return true;
  return run_then_boundary(s, n, i, cls_b64url, 20, end);
}

static bool m_azure_key(const uint8_t *s, size_t n, size_t p, size_t *end, size_t *keep) {
  static const char *const words[] = {"AccountKey=", "SharedAccessKey=", "sig="};
  if ((s[p] != 'A' && s[p] != 'S' && s[p] != 's') || !word_start(s, p)) return false;
  for (size_t w = 0; w < COUNT(words); w++) {
    if (!starts(s, n, p, words[w])) continue;
    size_t i = p + strlen(words[w]), run = run_of(s, n, i, cls_azure);
    if (run < 20) return false;
    *end = i + run;
    return true;
  }
  return false;
}

/* [^\s<stop>]+ from i: the run's length (whitespace is Unicode's, as JavaScript's \s). */
static size_t run_not_space(const uint8_t *s, size_t n, size_t i, const char *stop) {
  size_t j = i, len;
  while (j < n) {
    if (s[j] < 0x80 && strchr(stop, s[j]) && s[j]) break;
    if (js_space_at(s, n, j, &len)) break;
    j += s[j] < 0x80 ? 1 : len;
  }
  return j - i;
}

static bool m_url_credentials(const uint8_t *s, size_t n, size_t p, size_t *end, size_t *keep) {
  if (!is_alpha(s[p]) || !word_start(s, p)) return false;
  size_t i = p + 1 + run_of(s, n, p + 1, cls_scheme);
  if (!starts(s, n, i, "://")) return false;
  i += 3;
  size_t user = run_not_space(s, n, i, ":/@");
  if (user == 0 || i + user >= n || s[i + user] != ':') return false;
  i += user + 1;
  size_t secret = run_not_space(s, n, i, "@/");
  if (secret == 0 || i + secret >= n || s[i + secret] != '@') return false;
  *keep = i - p;
  *end = i + secret;
  return true;
}

typedef bool (*matcher_fn)(const uint8_t *s, size_t n, size_t p, size_t *end, size_t *keep);

static const struct {
  matcher_fn match;
  const char *mask;
} PATTERNS[] = {
    {m_private_key, MASK("private-key")}, {m_jwt, MASK("jwt")},
    {m_bearer, MASK("bearer")},           {m_aws_key, MASK("aws-key")},
    {m_gcp_key, MASK("gcp-key")},         {m_github, MASK("github-token")},
    {m_slack, MASK("slack-token")},       {m_stripe, MASK("stripe-key")},
    {m_api_key, MASK("api-key")},         {m_azure_key, MASK("azure-key")},
    {m_url_credentials, MASK("url-credentials")},
};

/* One global replace: every non-overlapping match, left to right, by its mask (after the kept
 * prefix). Writes to dst and returns true only when something matched. */
static bool replace_all(matcher_fn match, const char *mask, span_t in, buf_t *dst) {
  size_t copied = 0;
  bool changed = false;
  for (size_t p = 0; p < in.n; p++) {
    size_t end = 0, keep = 0;
    if (!match(in.p, in.n, p, &end, &keep)) continue;
    if (!changed) dst->len = 0;
    changed = true;
    buf_add(dst, in.p + copied, p + keep - copied);
    buf_adds(dst, mask);
    copied = end;
    p = end - 1;
  }
  if (changed) buf_add(dst, in.p + copied, in.n - copied);
  return changed;
}

bool luhn_valid(const uint8_t *digits, size_t n) {
  unsigned sum = 0;
  bool dbl = false;
  for (size_t i = n; i-- > 0;) {
    int d = digits[i] - '0';
    if (d < 0 || d > 9) return false;
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return sum % 10 == 0;
}

static inline bool is_sep(uint8_t c) { return c == ' ' || c == '-'; }

/* (?<![0-9])(?:[0-9][ -]?){12,18}[0-9](?![0-9]) at p: 13 to 19 digits with single separators,
 * the longest that is not followed by a digit. */
static bool m_card(const uint8_t *s, size_t n, size_t p, size_t *end) {
  if (!is_digit(s[p]) || (p > 0 && is_digit(s[p - 1]))) return false;
  size_t pos[20];
  size_t k = 1, i = p + 1;
  pos[0] = p;
  while (k < 20) {
    size_t j = i;
    if (j < n && is_sep(s[j])) j++;
    if (j < n && is_digit(s[j])) {
      pos[k++] = j;
      i = j + 1;
    } else {
      break;
    }
  }
  for (size_t digits = k < 19 ? k : 19; digits >= 13; digits--) {
    size_t e = pos[digits - 1] + 1;
    if (e < n && is_digit(s[e])) continue;
    *end = e;
    return true;
  }
  return false;
}

static bool replace_cards(span_t in, buf_t *dst) {
  size_t copied = 0;
  bool changed = false;
  uint8_t digits[24];
  for (size_t p = 0; p < in.n; p++) {
    size_t end;
    if (!m_card(in.p, in.n, p, &end)) continue;
    size_t nd = 0;
    for (size_t i = p; i < end; i++)
      if (is_digit(in.p[i])) digits[nd++] = in.p[i];
    if (luhn_valid(digits, nd)) {
      if (!changed) dst->len = 0;
      changed = true;
      buf_add(dst, in.p + copied, p - copied);
      buf_adds(dst, MASK("card"));
      copied = end;
    }
    p = end - 1; /* a match that stays (not Luhn-valid) is consumed all the same */
  }
  if (changed) buf_add(dst, in.p + copied, in.n - copied);
  return changed;
}

/* (?:[0-9][ -]?){11,}[0-9]?$ : where the trailing run of digits (single separators) starts. */
static bool trailing_digits(span_t s, size_t *start) {
  size_t j = s.n, count = 0;
  if (j > 0 && is_sep(s.p[j - 1])) j--;
  if (j == 0 || !is_digit(s.p[j - 1])) return false;
  for (;;) {
    if (j > 0 && is_digit(s.p[j - 1])) {
      j--;
      count++;
    } else if (j > 1 && is_sep(s.p[j - 1]) && is_digit(s.p[j - 2])) {
      j--;
    } else {
      break;
    }
  }
  if (count < 11) return false;
  *start = j;
  return true;
}

/* (?:[0-9][ -]?){12} anywhere: twelve digits with single separators. */
static bool twelve_digits_at(const uint8_t *s, size_t n, size_t p) {
  size_t count = 0, i = p;
  while (i < n && is_digit(s[i])) {
    if (++count == 12) return true;
    i++;
    if (i < n && is_sep(s[i])) i++;
  }
  return false;
}

/* Bytes that can start one of MAYBE_SECRET's alternatives. */
static const uint8_t MAYBE_START[256] = {
    ['e'] = 1, ['B'] = 1, ['b'] = 1, ['D'] = 1, ['d'] = 1, ['T'] = 1, ['t'] = 1, ['N'] = 1, ['n'] = 1, ['A'] = 1,
    ['g'] = 1, ['x'] = 1, ['_'] = 1, ['s'] = 1, ['S'] = 1, [':'] = 1, ['P'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1,
    ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
};

/* A literal at i, compared byte by byte: most candidates fail on the second byte. */
static inline bool at_lit(const uint8_t *s, size_t n, size_t i, const char *lit, size_t len) {
  if (i + len > n) return false;
  for (size_t k = 1; k < len; k++)
    if (s[i + k] != (uint8_t)lit[k]) return false;
  return s[i] == (uint8_t)lit[0];
}
#define AT(s, n, i, lit) at_lit((s), (n), (i), (lit), sizeof(lit) - 1)

/* The reference's MAYBE_SECRET pre-filter, exactly (it decides whether the patterns run at all). */
static bool maybe_secret(span_t t) {
  const uint8_t *s = t.p;
  size_t n = t.n;
  for (size_t i = 0; i < n; i++) {
    if (!MAYBE_START[s[i]]) continue;
    switch (s[i]) {
    case 'e':
      if (AT(s, n, i, "eyJ")) return true;
      break;
    case 'B':
      if (AT(s, n, i, "Bearer") || AT(s, n, i, "BEARER") || AT(s, n, i, "Basic") || AT(s, n, i, "BASIC")) return true;
      break;
    case 'b':
      if (AT(s, n, i, "bearer") || AT(s, n, i, "basic")) return true;
      break;
    case 'D':
      if (AT(s, n, i, "Digest")) return true;
      break;
    case 'd':
      if (AT(s, n, i, "digest")) return true;
      break;
    case 'T':
      if (AT(s, n, i, "Token") || AT(s, n, i, "TOKEN")) return true;
      break;
    case 't':
      if (AT(s, n, i, "token")) return true;
      break;
    case 'N':
      if (AT(s, n, i, "Negotiate")) return true;
      break;
    case 'n':
      if (AT(s, n, i, "negotiate")) return true;
      break;
    case 'A':
      if (i + 5 <= n && s[i + 1] && strchr("KSGIRNP", s[i + 1]) && cls_upper_digit(s[i + 2]) && cls_upper_digit(s[i + 3]) &&
          cls_upper_digit(s[i + 4]))
        return true;
      if (AT(s, n, i, "A3T") || AT(s, n, i, "AIza") || AT(s, n, i, "AccountKey")) return true;
      break;
    case 'g':
      if (i + 4 <= n && s[i + 1] == 'h' && s[i + 2] && strchr("pousr", s[i + 2]) && s[i + 3] == '_') return true;
      if (AT(s, n, i, "github_pat_")) return true;
      break;
    case 'x':
      if (i + 5 <= n && AT(s, n, i, "xox") && s[i + 3] && strchr("abposr", s[i + 3]) && s[i + 4] == '-') return true;
      break;
    case '_':
      if (AT(s, n, i, "_live_") || AT(s, n, i, "_test_")) return true;
      break;
    case 's':
      if (AT(s, n, i, "sk-") || AT(s, n, i, "sig=")) return true;
      break;
    case 'S':
      if (AT(s, n, i, "SharedAccessKey")) return true;
      break;
    case ':':
      if (AT(s, n, i, "://")) {
        size_t user = run_not_space(s, n, i + 3, ":/@");
        if (user > 0 && i + 3 + user < n && s[i + 3 + user] == ':') return true;
      }
      break;
    case 'P':
      if (AT(s, n, i, "PRIVATE KEY")) return true;
      break;
    default:
      if (twelve_digits_at(s, n, i)) return true;
    }
  }
  return false;
}

void redact_scrub(redactor_t *r, span_t text, bool truncated, buf_t *out) {
  struct clean_slot *slot = NULL;
  uint64_t h = 0;
  if (!truncated && text.n <= CLEAN_MAX) {
    h = hash_bytes(text.p, text.n);
    slot = &r->clean[h & (CLEAN_SLOTS - 1)];
    if (slot->used && slot->hash == h && slot->len == text.n && memcmp(slot->text, text.p, text.n) == 0) {
      buf_add(out, text.p, text.n);
      return;
    }
  }
  bool trailing_digit = text.n > 0 && (is_digit(text.p[text.n - 1]) || (text.n > 1 && is_sep(text.p[text.n - 1]) && is_digit(text.p[text.n - 2])));
  if (!maybe_secret(text) && !(truncated && trailing_digit)) {
    if (slot) {
      slot->used = 1;
      slot->hash = h;
      slot->len = (uint8_t)text.n;
      memcpy(slot->text, text.p, text.n);
    }
    buf_add(out, text.p, text.n);
    return;
  }
  /* Each pass reads the current text and, when it changes something, writes the other buffer. */
  span_t cur = text;
  buf_t *bufs[2] = {&r->scrub_a, &r->scrub_b};
  int next = 0;
  for (size_t k = 0; k < COUNT(PATTERNS); k++) {
    if (replace_all(PATTERNS[k].match, PATTERNS[k].mask, cur, bufs[next])) {
      cur = span_of(bufs[next]->p, bufs[next]->len);
      next ^= 1;
    }
  }
  if (replace_cards(cur, bufs[next])) {
    cur = span_of(bufs[next]->p, bufs[next]->len);
    next ^= 1;
  }
  size_t start;
  if (truncated && trailing_digits(cur, &start)) {
    buf_add(out, cur.p, start);
    buf_adds(out, MASK("truncated-digits"));
    return;
  }
  buf_add(out, cur.p, cur.n);
}

/* ---- forms, query strings, URLs ---- */

static int hex_value(uint8_t c) {
  if (is_digit(c)) return c - '0';
  c |= 32;
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* decodeURIComponent(raw.replace(/\+/g, ' ')); false (out unspecified) where it would throw. */
static bool uri_decode(span_t raw, buf_t *out) {
  out->len = 0;
  const uint8_t *s = raw.p;
  size_t n = raw.n;
  for (size_t i = 0; i < n;) {
    uint8_t c = s[i];
    if (c == '+') {
      buf_addc(out, ' ');
      i++;
      continue;
    }
    if (c != '%') {
      buf_addc(out, c);
      i++;
      continue;
    }
    if (i + 2 >= n) return false;
    int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
    if (hi < 0 || lo < 0) return false;
    uint8_t b = (uint8_t)(hi * 16 + lo);
    i += 3;
    if (b < 0x80) {
      buf_addc(out, b);
      continue;
    }
    unsigned need;
    uint32_t cp;
    if ((b & 0xE0) == 0xC0) need = 1, cp = b & 0x1F;
    else if ((b & 0xF0) == 0xE0) need = 2, cp = b & 0x0F;
    else if ((b & 0xF8) == 0xF0) need = 3, cp = b & 0x07;
    else return false;
    if ((i - 1) + 3 * need >= n) return false;
    for (unsigned k = 0; k < need; k++) {
      if (s[i] != '%') return false;
      int h2 = hex_value(s[i + 1]), l2 = hex_value(s[i + 2]);
      if (h2 < 0 || l2 < 0) return false;
      uint8_t cb = (uint8_t)(h2 * 16 + l2);
      if ((cb & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cb & 0x3F);
      i += 3;
    }
    static const uint32_t min_cp[4] = {0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[need] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    utf8_put(out, cp);
  }
  return true;
}

/* formDecode: a text without '%' or '+' is its own decoding; malformed escapes keep the raw text. */
static span_t form_decode(span_t raw, buf_t *scratch) {
  if (!memchr(raw.p, '%', raw.n) && !memchr(raw.p, '+', raw.n)) return raw;
  if (!uri_decode(raw, scratch)) return raw;
  return span_of(scratch->p, scratch->len);
}

/* encodeURIComponent of UTF-8 text. */
static void uri_encode(span_t s, buf_t *out) {
  static const char hex[] = "0123456789ABCDEF";
  for (size_t i = 0; i < s.n; i++) {
    uint8_t c = s.p[i];
    if (is_alnum(c) || (c && strchr("-_.!~*'()", c))) {
      buf_addc(out, c);
    } else {
      uint8_t e[3] = {'%', (uint8_t)hex[c >> 4], (uint8_t)hex[c & 15]};
      buf_add(out, e, 3);
    }
  }
}

static void redact_pair(redactor_t *r, span_t pair, bool truncated, buf_t *out) {
  const uint8_t *eq = memchr(pair.p, '=', pair.n);
  if (!eq) {
    redact_scrub(r, pair, truncated, out);
    return;
  }
  span_t raw_name = span_of(pair.p, eq - pair.p);
  if (redact_sensitive_field(r, form_decode(raw_name, &r->pair_name))) {
    buf_add(out, raw_name.p, raw_name.n);
    buf_adds(out, "=" MASK("field"));
    return;
  }
  span_t decoded = form_decode(span_of(eq + 1, pair.p + pair.n - eq - 1), &r->pair_value);
  r->pair_scrubbed.len = 0;
  redact_scrub(r, decoded, truncated, &r->pair_scrubbed);
  if (span_eq(decoded, span_of(r->pair_scrubbed.p, r->pair_scrubbed.len))) {
    buf_add(out, pair.p, pair.n);
    return;
  }
  buf_add(out, raw_name.p, raw_name.n);
  buf_addc(out, '=');
  uri_encode(span_of(r->pair_scrubbed.p, r->pair_scrubbed.len), out);
}

void redact_form(redactor_t *r, span_t text, bool truncated, buf_t *out) {
  size_t start = 0;
  for (;;) {
    const uint8_t *amp = memchr(text.p + start, '&', text.n - start);
    size_t stop = amp ? (size_t)(amp - text.p) : text.n;
    redact_pair(r, span_of(text.p + start, stop - start), truncated && !amp, out);
    if (!amp) break;
    buf_addc(out, '&');
    start = stop + 1;
  }
}

void redact_target(redactor_t *r, span_t target, buf_t *out) {
  const uint8_t *q = memchr(target.p, '?', target.n);
  if (!q) {
    redact_scrub(r, target, false, out);
    return;
  }
  redact_scrub(r, span_of(target.p, q - target.p), false, out);
  buf_addc(out, '?');
  redact_form(r, span_of(q + 1, target.p + target.n - q - 1), false, out);
}

void redact_url(redactor_t *r, span_t url, buf_t *out) {
  r->url_scrubbed.len = 0;
  redact_scrub(r, url, false, &r->url_scrubbed);
  span_t s = span_of(r->url_scrubbed.p, r->url_scrubbed.len);
  const uint8_t *q = memchr(s.p, '?', s.n);
  if (!q) {
    buf_add(out, s.p, s.n);
    return;
  }
  /* the form pass below uses other buffers than url_scrubbed */
  buf_add(out, s.p, q - s.p + 1);
  redact_form(r, span_of(q + 1, s.p + s.n - q - 1), false, out);
}

/* ---- bodies ---- */

/* JSON_PAIR = /("((?:[^"\\]|\\.){1,128})"\s*:\s*)("(?:[^"\\]|\\.)*(?:"|$)|-?[0-9][0-9.eE+-]*|true|false|null|[[{])/g
 * at p: the end of the prefix (after the colon's spaces), the key, the value's end and whether
 * the value is an opening bracket. `.` stops at line terminators. */
static bool line_terminator_at(const uint8_t *s, size_t n, size_t i) {
  return s[i] == '\n' || s[i] == '\r' || (i + 2 < n && s[i] == 0xE2 && s[i + 1] == 0x80 && (s[i + 2] == 0xA8 || s[i + 2] == 0xA9));
}

/* The content of a "..." string at i (i after the opening quote): where the closing quote is
 * (*close) or false; *units counts UTF-16 code units up to max_units (0: unbounded). */
static bool quoted_content(const uint8_t *s, size_t n, size_t i, size_t max_units, size_t *close, bool end_ok) {
  size_t units = 0;
  while (i < n) {
    uint8_t c = s[i];
    if (c == '"') {
      *close = i;
      return true;
    }
    if (max_units && units == max_units) return false;
    if (c == '\\') {
      if (i + 1 >= n || line_terminator_at(s, n, i + 1)) return false;
      size_t j = i + 1;
      uint32_t cp = utf8_next(s, n, &j);
      /* `\\.` takes one code unit: of an astral character only the high surrogate; the low one is
       * then a [^"\\] unit of its own */
      units += 1 + (cp >= 0x10000 ? 1 : 0);
      if (max_units && units > max_units) return false;
      i = j;
      continue;
    }
    size_t j = i;
    uint32_t cp = utf8_next(s, n, &j);
    units += utf16_units(cp);
    if (max_units && units > max_units) return false;
    i = j;
  }
  if (end_ok) {
    *close = n;
    return true;
  }
  return false;
}

static bool m_json_pair(const uint8_t *s, size_t n, size_t p, size_t *prefix_end, span_t *key, size_t *end, bool *bracket) {
  if (s[p] != '"') return false;
  size_t close;
  if (!quoted_content(s, n, p + 1, 128, &close, false) || close == p + 1) return false;
  *key = span_of(s + p + 1, close - p - 1);
  size_t i = close + 1, len;
  while (i < n && js_space_at(s, n, i, &len)) i += len;
  if (i >= n || s[i] != ':') return false;
  i++;
  while (i < n && js_space_at(s, n, i, &len)) i += len;
  *prefix_end = i;
  *bracket = false;
  if (i >= n) return false;
  uint8_t c = s[i];
  if (c == '"') {
    size_t vclose;
    if (!quoted_content(s, n, i + 1, 0, &vclose, true)) return false;
    *end = vclose < n ? vclose + 1 : n;
    return true;
  }
  if (c == '-' || is_digit(c)) {
    size_t j = i + (c == '-');
    if (j >= n || !is_digit(s[j])) return false;
    j++;
    while (j < n && (is_digit(s[j]) || s[j] == '.' || s[j] == 'e' || s[j] == 'E' || s[j] == '+' || s[j] == '-')) j++;
    *end = j;
    return true;
  }
  if (starts(s, n, i, "true") || starts(s, n, i, "null")) {
    *end = i + 4;
    return true;
  }
  if (starts(s, n, i, "false")) {
    *end = i + 5;
    return true;
  }
  if (c == '[' || c == '{') {
    *end = i + 1;
    *bracket = true;
    return true;
  }
  return false;
}

/* redactBrokenJson: sensitive "key": value pairs masked, then the shapes. */
static void redact_broken_json(redactor_t *r, span_t text, bool truncated, buf_t *work, buf_t *out) {
  size_t copied = 0;
  bool changed = false;
  for (size_t p = 0; p < text.n; p++) {
    size_t prefix_end, end;
    span_t key;
    bool bracket;
    if (!m_json_pair(text.p, text.n, p, &prefix_end, &key, &end, &bracket)) continue;
    if (!bracket && redact_sensitive_field(r, key)) {
      if (!changed) work->len = 0;
      changed = true;
      buf_add(work, text.p + copied, prefix_end - copied);
      buf_adds(work, "\"" MASK("field") "\"");
      copied = end;
    }
    p = end - 1;
  }
  if (changed) {
    buf_add(work, text.p + copied, text.n - copied);
    text = span_of(work->p, work->len);
  }
  redact_scrub(r, text, truncated, out);
}

/* TEXT_PAIR = /(\b([A-Za-z][A-Za-z0-9_.-]{1,63})\s*[=:]\s*)("[^"]*"?|'[^']*'?|[^\s&,;"']+)/g */
static bool cls_text_key(uint8_t c) { return is_alnum(c) || c == '_' || c == '.' || c == '-'; }

static bool m_text_pair(const uint8_t *s, size_t n, size_t p, size_t *prefix_end, span_t *key, size_t *end) {
  if (!is_alpha(s[p]) || !word_start(s, p)) return false;
  size_t run = run_of(s, n, p + 1, cls_text_key);
  if (run < 1 || run > 63) return false;
  *key = span_of(s + p, run + 1);
  size_t i = p + 1 + run, len;
  while (i < n && js_space_at(s, n, i, &len)) i += len;
  if (i >= n || (s[i] != '=' && s[i] != ':')) return false;
  i++;
  while (i < n && js_space_at(s, n, i, &len)) i += len;
  *prefix_end = i;
  if (i >= n) return false;
  uint8_t c = s[i];
  if (c == '"' || c == '\'') {
    const uint8_t *q = memchr(s + i + 1, c, n - i - 1);
    *end = q ? (size_t)(q - s) + 1 : n;
    return true;
  }
  size_t v = run_not_space(s, n, i, "&,;\"'");
  if (v == 0) return false;
  *end = i + v;
  return true;
}

static void redact_text_pairs(redactor_t *r, span_t text, buf_t *dst, span_t *result) {
  size_t copied = 0;
  bool changed = false;
  for (size_t p = 0; p < text.n; p++) {
    size_t prefix_end, end;
    span_t key;
    if (!m_text_pair(text.p, text.n, p, &prefix_end, &key, &end)) continue;
    if (redact_sensitive_field(r, key)) {
      if (!changed) dst->len = 0;
      changed = true;
      buf_add(dst, text.p + copied, prefix_end - copied);
      buf_adds(dst, MASK("field"));
      copied = end;
    }
    p = end - 1;
  }
  if (changed) {
    buf_add(dst, text.p + copied, text.n - copied);
    *result = span_of(dst->p, dst->len);
  } else {
    *result = text;
  }
}

static bool contains_ci(span_t s, const char *lower) {
  size_t k = strlen(lower);
  for (size_t i = 0; i + k <= s.n; i++)
    if (starts_ci(s.p, s.n, i, lower)) return true;
  return false;
}

/* /^[A-Za-z0-9_.%-]+=[^\s]*(&[A-Za-z0-9_.%-]+=[^\s]*)*$/ on the trimmed body: a name, '=', and no
 * whitespace anywhere. */
static bool looks_like_form(span_t body) {
  span_t t = js_trim(body);
  size_t i = 0;
  while (i < t.n && (is_alnum(t.p[i]) || t.p[i] == '_' || t.p[i] == '.' || t.p[i] == '%' || t.p[i] == '-')) i++;
  if (i == 0 || i >= t.n || t.p[i] != '=') return false;
  size_t len;
  for (size_t j = i + 1; j < t.n; j += t.p[j] < 0x80 ? 1 : len)
    if (js_space_at(t.p, t.n, j, &len)) return false;
  return true;
}

enum body_kind { BODY_JSON, BODY_FORM, BODY_TEXT };

static enum body_kind body_kind(const span_t *content_type, span_t body) {
  span_t ct = content_type ? *content_type : span_of("", 0);
  if (contains_ci(ct, "json")) return BODY_JSON;
  if (contains_ci(ct, "x-www-form-urlencoded")) return BODY_FORM;
  span_t head = js_trim_start(body);
  if (head.n && (head.p[0] == '{' || head.p[0] == '[')) return BODY_JSON;
  if (ct.n == 0 && looks_like_form(body)) return BODY_FORM;
  return BODY_TEXT;
}

void redact_body(redactor_t *r, span_t body, const span_t *content_type, bool truncated, buf_t *out) {
  if (body.n == 0) return;
  switch (body_kind(content_type, body)) {
  case BODY_JSON:
    if (!truncated) {
      if (json_unchanged(r, r->json, body)) {
        buf_add(out, body.p, body.n);
        return;
      }
      if (json_redact(r, r->json, body, out)) return;
    }
    redact_broken_json(r, body, truncated, &r->body_a, out);
    return;
  case BODY_FORM:
    redact_form(r, body, truncated, out);
    return;
  default: {
    /* Secret shapes first (redact.ts): `Authorization: Bearer <token>` is a pair whose value would otherwise end at
     * the blank. body_b holds the shaped text, body_a is the pairs' scratch once the shapes are done with it. */
    r->body_b.len = 0;
    redact_broken_json(r, body, truncated, &r->body_a, &r->body_b);
    span_t pairs;
    redact_text_pairs(r, span_of(r->body_b.p, r->body_b.len), &r->body_a, &pairs);
    buf_add(out, pairs.p, pairs.n);
  }
  }
}
