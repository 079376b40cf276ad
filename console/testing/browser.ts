/**
 * Headless Debian chromium driven by playwright-core, for the console's browser tests. The flags keep Chromium off
 * the (closed) network: no background fetches, component updates, sync or QUIC; each launch gets a fresh profile.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Installs Debian's chromium when it is missing (console/install-chromium.sh: root, apt-get); throws saying how otherwise. */
export async function ensureChromium(): Promise<void> {
  if (existsSync(CHROMIUM)) return;
  const script = path.join(import.meta.dirname, '..', 'install-chromium.sh');
  try {
    await promisify(execFile)('bash', [script], { timeout: 600_000 });
  } catch (e) {
    throw new Error(`the console's browser test needs ${CHROMIUM} (Debian package chromium): ${(e as { stderr?: string }).stderr || (e as Error).message}`);
  }
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchBrowser(viewport = { width: 1280, height: 800 }): Promise<Browser> {
  const profile = await mkdtemp(path.join(tmpdir(), 'peregrine-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
