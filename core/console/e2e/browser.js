// Headless Chromium for the console's end-to-end tests: one way to launch
// it, open a page that records what should never happen (a dialog, a
// script error, a CSP refusal), and sign in through the login form.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { REPO } from './harness.js';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
/** Where the screenshots go (the test output to look at). */
export const SHOTS = join(REPO, 'target', 'console-e2e');
/** The plugins `cargo xtask plugins` built. */
export const WASM = join(REPO, 'plugins', 'target', 'wasm32-wasip2', 'release');
/** How long a step may wait for the page. */
export const TIMEOUT = 10000;

/** Debian's chromium, headless, with nothing reaching out on its own. */
export async function launchChromium() {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium`);
  mkdirSync(SHOTS, { recursive: true });
  // Playwright gives each launch a fresh temporary profile (it refuses
  // --user-data-dir here) and deletes it at close.
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * A page in its own context (own cookies) for `who`. Dialogs and script
 * errors are pushed to `problems`; with `consoleErrors`, console errors
 * too (a CSP refusal shows as one), except failed resource loads, which
 * answered API errors also produce.
 */
export async function openPage(browser, who, problems, { viewport = { width: 1280, height: 800 }, consoleErrors = false } = {}) {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, locale: 'en-US', viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on('dialog', async (dialog) => { problems.push(`${who} dialog: ${dialog.message()}`); await dialog.dismiss(); });
  page.on('pageerror', (error) => { problems.push(`${who} page error: ${error.message}`); });
  if (consoleErrors) {
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) problems.push(`${who} console: ${msg.text()}`);
    });
  }
  return page;
}

/** Signs `user` in through the login form at `base`, waiting for the header (with their name, if given). */
export async function signIn(page, base, user) {
  await page.goto(`${base}/`);
  await page.waitForURL('**/login');
  await page.fill('#login-email', user.email);
  await page.fill('#login-password', user.password);
  await page.click('form.login-form button[type=submit]');
  const header = page.locator('#user-name');
  await (user.name ? header.filter({ hasText: user.name }) : header).waitFor();
}
