#!/usr/bin/env node
// The `peregrine` command. TypeScript sources run through tsx's loader, so there is no build step.
// Peregrine needs Node >= 22.22 (package.json engines); on an older Node this hands over to the project's own
// (the npm package `node`, installed by `npm ci`), so `node bin/peregrine.js ...` works with the machine's Node too.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 22)) {
  const { spawn } = await import('node:child_process');
  const { existsSync } = await import('node:fs');
  const { fileURLToPath } = await import('node:url');
  const own = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
  if (!existsSync(own)) {
    console.error(`peregrine needs Node >= 22.22 (this is ${process.version}); run \`npm ci\` to install the project's own Node`);
    process.exit(1);
  }
  const child = spawn(own, [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../app/cli/main.ts');
}
