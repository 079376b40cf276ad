/* Redaction at the source, in C: the rules of core/redaction/redact.ts (the reference), with the same
 * results byte for byte — secret shapes (JWTs, bearer tokens, cloud keys, Luhn-valid card
 * numbers, private keys, URL credentials), sensitive field names in JSON, forms, query strings
 * and free text, and sensitive headers. Texts are UTF-8 (strings decoded from JSON may hold lone
 * surrogates, WTF-8); the JavaScript regular expressions of the reference are written out here
 * as the matchers they amount to (backtracking included). */
#ifndef PEREGRINE_REDACT_H
#define PEREGRINE_REDACT_H

#include "text.h"

typedef struct redactor redactor_t;

/* headers: extra header names, lower case; fields: extra field names, normalized as the reference
 * compares them (lower case, letters and digits only). */
redactor_t *redactor_new(const char *const *headers, size_t nheaders, const char *const *fields, size_t nfields);
void redactor_free(redactor_t *r);

enum header_verdict { HV_SCRUB = 0, HV_MASK = 1, HV_URL = 2 };

bool redact_sensitive_field(redactor_t *r, span_t name);
/* name: an HTTP header name (a token, ASCII). */
enum header_verdict redact_header_verdict(redactor_t *r, span_t name);

/* Each appends the redacted text to out (out is never one of the redactor's own buffers). */
void redact_scrub(redactor_t *r, span_t text, bool truncated, buf_t *out);
void redact_form(redactor_t *r, span_t text, bool truncated, buf_t *out);
void redact_target(redactor_t *r, span_t target, buf_t *out);
void redact_url(redactor_t *r, span_t url, buf_t *out);
/* content_type: NULL when the message has none. */
void redact_body(redactor_t *r, span_t body, const span_t *content_type, bool truncated, buf_t *out);

bool luhn_valid(const uint8_t *digits, size_t n);

#endif
