/**
 * Path traversal and file disclosure: climbing out of a directory (`../`, `..\`, and the evasions `....//`, `..;/`,
 * which the decoder has already unwrapped from `%2e%2e%2f`, `%252e`, `%c0%af`…) two levels or more, or one level onto a
 * file that is never a page (configuration, keys, logs, system files); absolute paths to the operating system's
 * secrets (`/etc/passwd`, `/proc/self/environ`, `C:\Windows\win.ini`); `file://` URLs; a NUL byte (which cuts
 * off an extension in C-based file APIs). In a request path any `..` segment counts: browsers remove them before sending. Pure; text decoded.
 */

export type TraversalConstruct = 'dot_dot_slash' | 'sensitive_file' | 'file_url' | 'nul_byte';

export interface TraversalMatch { construct: TraversalConstruct; start: number; end: number }

// `..` followed by separators, allowing the evasions `....//` and `..;/`.
const CLIMB = /(?<=^|[\\/=:;,'"\s])(?:\.{2,}(?:;[^\\/]*)?[\\/]+|\.\.(?:;[^\\/]*)?$)/g;
const SENSITIVE_TARGET = new RegExp([
  String.raw`etc[\\/]+(?:passwd|shadow|group|hosts|issue|sudoers|crontab|fstab|mtab|profile|environment|ssh|ssl|nginx|apache2?|httpd|mysql)`,
  String.raw`proc[\\/]+(?:self|[0-9]+)[\\/]`,
  String.raw`(?:windows|winnt)[\\/]+(?:win\.ini|system\.ini|system32|repair|debug|panther)`,
  String.raw`boot\.ini`, String.raw`inetpub[\\/]`, String.raw`web-inf[\\/]`, String.raw`meta-inf[\\/]`,
  String.raw`\.(?:ssh|aws|gnupg|kube|docker|git|svn|hg)(?:[\\/]|$)`, String.raw`\.(?:env|htaccess|htpasswd|bash_history|npmrc|pgpass|netrc)\b`,
  String.raw`(?:var[\\/]+(?:log|lib|run|www)|root|home[\\/]+[^\\/]+)[\\/]`,
  String.raw`[^\\/]*\.(?:ini|conf|cfg|config|ya?ml|properties|env|pem|key|crt|p12|pfx|jks|log|bak|old|sql|sqlite|db|mdb|passwd|xml|json|php|jsp|aspx?|sh|py|rb|pl)\b`,
].map((p) => `(?:${p})`).join('|'), 'i');
const ABSOLUTE_SECRET = new RegExp(String.raw`(?:^|[\s=:'"(,;])(?:[a-z]:)?[\\/]+(?:etc[\\/]+(?:passwd|shadow|sudoers|group|hosts)\b|proc[\\/]+(?:self|[0-9]+)[\\/]+(?:environ|cmdline|maps|mem|fd|cwd|root|status)\b|(?:windows|winnt)[\\/]+(?:win\.ini|system\.ini|system32[\\/]+(?:config|drivers[\\/]+etc))|boot\.ini\b|(?:root|home[\\/]+[^\\/\s]+)[\\/]+\.(?:ssh|aws|bash_history))`, 'i');
const FILE_URL = /(?:^|[\s=:'"(,;])file:(?:\/\/|\\\\)[^\s"'<>]{1,200}/i;
// A NUL byte cuts a string in C-based file APIs (`../../etc/passwd%00.jpg`); text never carries one.
const NUL = /\x00[^\x00]{0,16}/;

/**
 * The first traversal or disclosure construct in a decoded value. `inPath`: the value is (part of) a request path,
 * where even one `..` segment is an attack.
 */
export function findTraversal(text: string, options: { inPath?: boolean } = {}): TraversalMatch | undefined {
  if (text.indexOf('..') >= 0) {
    // Runs of consecutive climbs (`../../`), each judged with what follows it.
    const climbs = [...text.matchAll(CLIMB)].filter((m) => m[0].length > 0);
    for (let i = 0; i < climbs.length;) {
      const first = climbs[i].index;
      let last = first + climbs[i][0].length;
      let levels = 1;
      for (i++; i < climbs.length && climbs[i].index === last; i++, levels++) last += climbs[i][0].length;
      const target = SENSITIVE_TARGET.exec(text.slice(last, last + 120));
      const onTarget = target !== null && target.index === 0;
      if (levels >= 2 || options.inPath || onTarget) {
        return { construct: onTarget ? 'sensitive_file' : 'dot_dot_slash', start: first, end: onTarget ? last + target[0].length : last };
      }
    }
  }
  const abs = ABSOLUTE_SECRET.exec(text);
  if (abs) {
    const lead = /^[\s=:'"(,;]/.test(abs[0]) ? 1 : 0;
    return { construct: 'sensitive_file', start: abs.index + lead, end: abs.index + abs[0].length };
  }
  const url = FILE_URL.exec(text);
  if (url) {
    const lead = /^[\s=:'"(,;]/.test(url[0]) ? 1 : 0;
    return { construct: 'file_url', start: url.index + lead, end: url.index + url[0].length };
  }
  const nul = NUL.exec(text);
  if (nul) return { construct: 'nul_byte', start: nul.index, end: nul.index + nul[0].length };
  return undefined;
}
