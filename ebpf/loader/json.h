/* JSON bodies for the redaction: the reference's JSON.stringify(redact(JSON.parse(body))) with
 * JavaScript's semantics (integer-like keys first, a repeated key keeps its first place and its
 * last value, numbers printed as Number#toString prints them, JSON.stringify's escapes), and its
 * shortcut: a scan that proves the round trip would hand the text back unchanged. */
#ifndef PEREGRINE_JSON_H
#define PEREGRINE_JSON_H

#include "text.h"

typedef struct redactor redactor_t;
typedef struct json_doc json_doc_t;

json_doc_t *json_doc_new(void);
void json_doc_free(json_doc_t *doc);

/* The canonical-JSON scan of redact.ts (jsonUnchanged). */
bool json_unchanged(redactor_t *r, json_doc_t *doc, span_t text);
/* Parses, redacts and re-serializes into out; false (out untouched) when text is not JSON. */
bool json_redact(redactor_t *r, json_doc_t *doc, span_t text, buf_t *out);

/* A JSON string literal as JSON.stringify writes it (UTF-8, or WTF-8 with lone surrogates). */
void json_quote(buf_t *out, span_t s);

#endif
