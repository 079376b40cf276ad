/**
 * Authentication signals: which requests are logins, which user name a request or a log record names, and which
 * log records report a failed authentication (application logs, sshd/PAM-style lines as Fluent Bit forwards them,
 * ECS-shaped records). Only the first AUTH_SCAN_LIMIT characters of a body are read. Pure.
 */
import type { LogRecordEvent, RequestEvent } from '../../core/events.ts';

const AUTH_SCAN_LIMIT = 2048;
const MAX_IDENTITY_LENGTH = 128;

const LOGIN_ROUTE = /(?:^|[/._-])(?:log-?in|sign-?in|log-?on|auth(?:enticate)?|session|token|oauth2?|sso|j_security_check)(?:$|[/._?-])/i;

/** Targets seen and whether they are logins: routes repeat from request to request (bounded: cleared when full). */
const loginTargets = new Map<string, boolean>();
const LOGIN_TARGETS_KEPT = 10_000;

export function isLoginRequest(e: RequestEvent): boolean {
  const target = e.route ?? e.path ?? e.operation;
  let login = loginTargets.get(target);
  if (login === undefined) {
    if (loginTargets.size >= LOGIN_TARGETS_KEPT) loginTargets.clear();
    loginTargets.set(target, (login = LOGIN_ROUTE.test(target)));
  }
  return login;
}

/** A refused request: answered 4xx (other than 404), or a gRPC UNAUTHENTICATED / PERMISSION_DENIED. */
export function isRefused(e: RequestEvent): boolean {
  if (e.httpStatus !== undefined) return e.httpStatus >= 400 && e.httpStatus < 500 && e.httpStatus !== 404;
  return e.grpcStatus === 16 || e.grpcStatus === 7;
}

/** A refused login (a login request that `isRefused`). */
export function isFailedLogin(e: RequestEvent): boolean {
  return isRefused(e) && isLoginRequest(e);
}

const USER_ATTRIBUTES = ['enduser.id', 'user.name', 'user.id', 'enduser.name', 'user.email'];
/** `username=alice`, `"login": "alice"`, `user=alice` in a query, a form or a JSON body. */
const USER_FIELD = /(?:^|[?&{,\s"'])"?(?:user(?:_?name)?|login|email|account|uid|j_username)"?\s*[=:]\s*"?([^"&,}\s]{1,128})/i;

function clean(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  let s = name.trim();
  if (s === '') return undefined;
  if (s.includes('%')) {
    try {
      s = decodeURIComponent(s.replace(/\+/g, ' '));
    } catch {
      // keep it as it came
    }
  }
  return s.length > MAX_IDENTITY_LENGTH ? s.slice(0, MAX_IDENTITY_LENGTH) : s;
}

function attributeIdentity(attrs: Record<string, string | number | boolean> | undefined): string | undefined {
  if (!attrs) return undefined;
  for (const key of USER_ATTRIBUTES) {
    const v = attrs[key];
    if (v !== undefined && v !== '') return clean(String(v));
  }
  return undefined;
}

/**
 * The user name a request names: `enduser.id`/`user.name`, else a user field of a login request's query or body
 * (`login`: whether it is one, when the caller already knows).
 */
export function requestIdentity(e: RequestEvent, login = isLoginRequest(e)): string | undefined {
  const fromAttributes = attributeIdentity(e.attributes);
  if (fromAttributes !== undefined) return fromAttributes;
  if (!login) return undefined;
  for (const text of [e.query, e.requestBody]) {
    if (!text) continue;
    const m = USER_FIELD.exec(text.length > AUTH_SCAN_LIMIT ? text.slice(0, AUTH_SCAN_LIMIT) : text);
    if (m) return clean(m[1]);
  }
  return undefined;
}

const FAILURE_TEXT = /authentication fail|auth(?:entication)? error|failed password|invalid user|login fail|failed login|failed to log ?in|invalid (?:credentials|password|username)|incorrect (?:password|username)|bad password|wrong password|unauthori[sz]ed|access denied|permission denied \(publickey/i;
/** sshd: `Failed password for invalid user admin from 203.0.113.9 port 4242`; PAM: `user=alice rhost=203.0.113.9`. */
const LOG_USER = /(?:for (?:invalid user |illegal user )?|user[= ]|username[= ]|login[= ]|account[= ])"?([^\s"',;]{1,128})/i;
const LOG_ADDRESS = /(?:from|rhost=|client[= ]|src[= ]|ip[= ])\s*\[?((?:\d{1,3}\.){3}\d{1,3}|[0-9a-f:]*:[0-9a-f:]+)/i;
const ADDRESS_ATTRIBUTES = ['client.address', 'source.address', 'source.ip', 'client.ip', 'network.peer.address', 'net.sock.peer.addr', 'http.client_ip'];

export interface AuthLogFacts {
  failure: boolean;
  identity?: string;
  clientAddress?: string;
}

function attribute(attrs: Record<string, string | number | boolean>, keys: readonly string[]): string | undefined {
  for (const k of keys) {
    const v = attrs[k];
    if (v !== undefined && v !== '') return String(v);
  }
  return undefined;
}

/** What a log record says about authentication; `failure` false for every other record. */
export function authLogFacts(log: LogRecordEvent): AuthLogFacts {
  const attrs = log.attributes;
  const outcome = attrs['event.outcome'];
  const category = String(attrs['event.category'] ?? '') + String(attrs['event.action'] ?? '');
  const body = log.body.length > AUTH_SCAN_LIMIT ? log.body.slice(0, AUTH_SCAN_LIMIT) : log.body;
  const failure = (outcome === 'failure' && /auth|login|logon|session/i.test(category)) || FAILURE_TEXT.test(body);
  if (!failure) return { failure: false };
  return {
    failure: true,
    identity: attributeIdentity(attrs) ?? clean(LOG_USER.exec(body)?.[1]),
    clientAddress: attribute(attrs, ADDRESS_ATTRIBUTES) ?? LOG_ADDRESS.exec(body)?.[1],
  };
}

/** The client address a log record names in its attributes (for client entities of logs that are not auth failures). */
export function logClientAddress(log: LogRecordEvent): string | undefined {
  return attribute(log.attributes, ADDRESS_ATTRIBUTES);
}
