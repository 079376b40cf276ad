/**
 * OS command injection: a shell separator or substitution (`;`, `|`, `||`, `&`, `&&`, a newline, backticks, `$(…)`)
 * followed by a command-shaped token — a program name or an absolute path to one — and then what a command line
 * looks like (its end, another separator, an option, a path, a number, a redirection, a variable), so that "rock & roll"
 * or "bread; cat food" stay text. Also Shellshock function definitions and server-side include directives. Pure; text
 * already decoded.
 */

export type CommandConstruct = 'separator_command' | 'substitution' | 'shellshock' | 'server_side_include';

export interface CommandMatch { construct: CommandConstruct; start: number; end: number }

// Programs an attacker runs first (recon, download, shells, interpreters, Windows equivalents), in three tiers:
// names that occur in no text (`whoami`, `wget`) need nothing after them; short names (`id`, `ls`) need the end of the
// command or an argument; names that are English words (`cat`, `sleep`, `more`) need an argument shaped like one, so
// "salt & pepper & more" and "bread; cat food" are text while `& sleep 5` and `; cat /etc/passwd` are not.
const TELLTALE_PROGRAMS = [
  'whoami', 'uname', 'wget', 'ncat', 'netcat', 'socat', 'bash', 'zsh', 'ksh', 'tcsh', 'python[23]?', 'ifconfig', 'ipconfig',
  'netstat', 'nslookup', 'systeminfo', 'tasklist', 'taskkill', 'powershell', 'pwsh', 'certutil', 'bitsadmin', 'wmic',
  'rundll32', 'regsvr32', 'mshta', 'cscript', 'wscript', 'busybox', 'nmap', 'xterm', 'uptime', 'printenv', 'crontab',
  'chmod', 'chown', 'telnet', 'base64', 'xxd', 'nohup', 'sudo', 'hostname', 'useradd', 'schtasks', 'openssl', 'lsof',
  'cmd\\.exe', 'net\\s+user',
];
const SHORT_PROGRAMS = ['ls', 'id', 'ps', 'env', 'dir', 'sh', 'nc', 'pwd', 'cmd', 'csh', 'perl', 'php', 'mkdir'];
const WORDY_PROGRAMS = [
  'cat', 'ping', 'dig', 'host', 'sleep', 'echo', 'printf', 'rm', 'touch', 'cp', 'mv', 'kill', 'pkill', 'head', 'tail',
  'more', 'less', 'grep', 'find', 'awk', 'sed', 'su', 'ip', 'ss', 'passwd', 'net', 'type', 'reg', 'timeout', 'del', 'sc',
  'tar', 'zip', 'unzip', 'gzip', 'dd', 'java', 'node', 'ruby', 'lua', 'exec', 'eval', 'system', 'who', 'last', 'history',
  'df', 'mount', 'strings', 'file', 'tee', 'xargs', 'expr', 'ftp', 'tftp', 'scp', 'ssh', 'od', 'dash', 'test', 'curl',
];
const names = (list: string[]) => String.raw`(?:${list.join('|')})(?:\.exe)?\b`;
// Absolute paths to programs are as telling as their names.
const PROGRAM_PATH = String.raw`(?:/(?:usr/(?:local/)?)?s?bin/[a-z0-9_.+-]+|/tmp/[a-z0-9_.+/-]+|[a-z]:\\windows\\[a-z0-9_\\.-]+)`;
const ANY_PROGRAM = String.raw`(?:${names([...TELLTALE_PROGRAMS, ...SHORT_PROGRAMS, ...WORDY_PROGRAMS])}|${PROGRAM_PATH})`;
// The end of the value, or another separator or a redirection, straight after the program.
const LINE_ENDS = String.raw`(?=\s*(?:$|[;|&\x60)\n#<>]))`;
// An argument shaped like one: an option, a path, a quoted string, a number, a variable, a host or file name.
const ARGUMENT = String.raw`\s+(?:-{1,2}[a-z0-9]|/[a-z0-9._~-]|[a-z]:\\|\.{1,2}/|["']|[0-9]|\$|\\\\|[a-z][a-z0-9+.-]*://|[a-z0-9.-]+\.[a-z]{2,}\b|[a-z0-9_.-]+/)`;
const SEPARATOR = String.raw`(?:\|\||&&|[;|&\n\r])`;
const SEPARATOR_COMMAND = new RegExp(
  String.raw`${SEPARATOR}\s*(?:[({]\s*)?(?:(?:${names(TELLTALE_PROGRAMS)}|${PROGRAM_PATH})|${names(SHORT_PROGRAMS)}${LINE_ENDS}|${ANY_PROGRAM}(?:${ARGUMENT}|(?=[;|&\x60<>])))[^;|&\n\x60]{0,120}`, 'i');
const SUBSTITUTION = new RegExp(String.raw`(?:\x60\s*${ANY_PROGRAM}[^\x60]{0,120}\x60?|\$\(\s*${ANY_PROGRAM}[^)]{0,120}\)?)`, 'i');
const SHELLSHOCK = /\(\)\s*\{[^}]{0,40};\s*\}\s*;?/;
const SSI = /<!--\s*#\s*(?:exec|include|echo|config|printenv|fsize|flastmod|set|if)\b[^>]{0,200}(?:-->)?/i;

/** The first command-injection construct in a decoded value. */
export function findCommandInjection(text: string): CommandMatch | undefined {
  const ssi = SSI.exec(text);
  if (ssi) return { construct: 'server_side_include', start: ssi.index, end: ssi.index + ssi[0].length };
  const shock = SHELLSHOCK.exec(text);
  if (shock) return { construct: 'shellshock', start: shock.index, end: shock.index + shock[0].length };
  if (/[\x60$]/.test(text)) {
    const sub = SUBSTITUTION.exec(text);
    if (sub) return { construct: 'substitution', start: sub.index, end: sub.index + sub[0].length };
  }
  if (/[;|&\n\r]/.test(text)) {
    const sep = SEPARATOR_COMMAND.exec(text);
    if (sep) return { construct: 'separator_command', start: sep.index, end: sep.index + sep[0].trimEnd().length };
  }
  return undefined;
}
