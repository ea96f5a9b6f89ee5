// Admin → Plugins and Admin → Channels in headless Chromium against the
// real binary, with the test plugins of plugins/testing: one dropped into
// plugins.dir before start (template-channel, whose settings have required,
// url and default fields), one uploaded through the page (well-behaved),
// one refused (future-interface). Imported by console.test.js so that
// `node --test console.test.js` (cargo xtask test) runs it too.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Server, ADMIN, binary } from './harness.js';
import { launchChromium, openPage, signIn, SHOTS, WASM } from './browser.js';

// Installing compiles the component: slower in a debug build.
const INSTALL_TIMEOUT = 60000;
const SECRET = 'Sup3r-Secret-App-Value-e2e';

describe('Admin: plugins and channels', { concurrency: false }, () => {
  let server;
  let browser;
  let page;
  let dropins;
  const problems = [];
  const ids = {};

  const row = (selector, text) => page.locator(selector).filter({ hasText: text });
  const pluginRow = (name) => page.locator(`#plugin-rows tr[data-plugin="${name}"]`);
  const channelRow = (name) => row('#channel-rows tr', name);

  before(async () => {
    for (const name of ['well_behaved', 'well_behaved_next', 'template_channel', 'future_interface', 'echo_flow', 'trap']) {
      assert.ok(existsSync(join(WASM, `${name}.wasm`)), `${name}.wasm is missing: run \`cargo xtask plugins\``);
    }
    dropins = mkdtempSync(join(tmpdir(), 'omnigate-e2e-plugins-'));
    copyFileSync(join(WASM, 'template_channel.wasm'), join(dropins, 'template_channel.wasm'));
    server = await Server.start({ env: { OMNIGATE_PLUGINS__DIR: dropins } });
    browser = await launchChromium();
    page = await openPage(browser, 'admin', problems, { viewport: { width: 1360, height: 900 } });
    await signIn(page, server.base, ADMIN);
  });

  after(async () => {
    if (browser) await browser.close();
    if (server) await server.stop();
    if (dropins) rmSync(dropins, { recursive: true, force: true });
  });

  it('installs a plugin through the page, shows a refusal with its reason, disables and enables it', async () => {
    await page.click('#nav-admin');
    await page.click('#admin-plugins-link');
    await page.waitForURL('**/admin/plugins');
    // The one from plugins.dir is there and loaded.
    await pluginRow('template-channel').locator('.plugin-state.state-loaded').waitFor();
    await pluginRow('template-channel').locator('.plugin-signed').filter({ hasText: 'Unsigned' }).waitFor();

    // A plugin built against an unknown interface: the server's reason is shown.
    const refused = await server.request('POST', '/api/v1/plugins', {
      raw: readFileSync(join(WASM, 'future_interface.wasm')),
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/wasm' },
    });
    assert.equal(refused.status, 400);
    assert.equal(refused.json.error.code, 'invalid_plugin');
    await page.setInputFiles('#plugin-file', join(WASM, 'future_interface.wasm'));
    await page.click('#plugin-install-submit');
    await page.locator('#plugin-install-error').filter({ hasText: `Refused: ${refused.json.error.message}` }).waitFor({ timeout: INSTALL_TIMEOUT });
    assert.equal(await page.locator('#plugin-rows tr').count(), 1);

    await page.setInputFiles('#plugin-file', join(WASM, 'well_behaved.wasm'));
    await page.click('#plugin-install-submit');
    await page.locator('#plugin-install-result').filter({ hasText: 'well-behaved 0.1.0 installed.' }).waitFor({ timeout: INSTALL_TIMEOUT });
    assert.equal(await page.textContent('#plugin-install-error'), '');
    const wb = pluginRow('well-behaved');
    await wb.locator('.plugin-state.state-loaded').waitFor();
    assert.equal(await wb.locator('.plugin-version').textContent(), '0.1.0');
    assert.match(await wb.locator('.plugin-calls').textContent(), /^(\d+|—)$/);
    await page.screenshot({ path: join(SHOTS, '20-plugins.png') });

    // By keyboard: the focus stays on the button through the redraw.
    await page.getByRole('button', { name: 'Disable: well-behaved', exact: true }).focus();
    await page.keyboard.press('Enter');
    await wb.locator('.plugin-state.state-disabled').filter({ hasText: 'Disabled' }).waitFor();
    await page.waitForFunction(() => document.activeElement?.id === 'plugin-toggle-well-behaved');
    let listed = (await server.api('GET', '/api/v1/plugins')).plugins.find((p) => p.name === 'well-behaved');
    assert.equal(listed.enabled, false);
    await page.getByRole('button', { name: 'Enable: well-behaved', exact: true }).click();
    await wb.locator('.plugin-state.state-loaded').waitFor();
    listed = (await server.api('GET', '/api/v1/plugins')).plugins.find((p) => p.name === 'well-behaved');
    assert.equal(listed.enabled && listed.loaded, true);
  });

  it('draws a plugin channel form from the settings schema, and never shows a secret back', async () => {
    await page.click('#admin-channels-link');
    await page.waitForURL('**/admin/channels');
    await page.locator('#channel-rows').waitFor();
    const kinds = await page.locator('#channel-kind option').allTextContents();
    assert.deepEqual(kinds.sort(), ['API', 'template-channel 0.1.0', 'well-behaved 0.1.0']);

    // template-channel: url with its default, required fields marked and enforced.
    await page.selectOption('#channel-kind', 'template-channel');
    assert.equal(await page.getAttribute('#channel-setting-api_base', 'type'), 'url');
    assert.equal(await page.inputValue('#channel-setting-api_base'), 'https://api.example.com');
    assert.equal(await page.getAttribute('#channel-setting-api_token', 'type'), 'password');
    await page.locator('label[for="channel-setting-sender_id"] .required').waitFor();
    assert.equal(await page.getByRole('textbox', { name: 'Sender id (required)', exact: true }).count(), 1);
    assert.equal(await page.locator('#channel-webhook').isVisible(), false);
    await page.fill('#channel-name', 'Incomplete');
    await page.click('#channel-create-submit');
    assert.equal(await page.locator('#channel-setting-sender_id:invalid').count(), 1);
    assert.equal((await server.api('GET', '/api/v1/channels')).channels.length, 0);

    // well-behaved: text, password and number inputs from its manifest.
    await page.selectOption('#channel-kind', 'well-behaved');
    assert.equal(await page.getAttribute('#channel-setting-verify_token', 'type'), 'text');
    assert.equal(await page.getAttribute('#channel-setting-app_secret', 'type'), 'password');
    assert.equal(await page.getAttribute('#channel-setting-kv_probe_bytes', 'type'), 'number');
    await page.getByLabel('Verify token').fill('verify-me');
    await page.getByLabel('App secret').fill(SECRET);
    await page.getByLabel('Bytes list-templates stores (tests)').fill('32');
    await page.fill('#channel-name', 'WhatsApp Sales');
    await page.fill('#channel-window', '86400');
    await page.click('#channel-create-submit');
    await page.locator('#channel-created').filter({ hasText: 'Channel WhatsApp Sales created.' }).waitFor();

    const [made] = (await server.api('GET', '/api/v1/channels')).channels;
    ids.plugin = made.id;
    assert.equal(made.kind, 'well-behaved');
    assert.deepEqual(made.config, { kv_probe_bytes: '32', verify_token: 'verify-me' });
    assert.deepEqual(made.secrets_set, ['app_secret']);
    assert.equal(made.service_window_secs, 86400);
    const line = channelRow('WhatsApp Sales');
    await line.locator('.webhook-url').filter({ hasText: `${server.base}/webhooks/${made.id}` }).waitFor();
    await line.locator('.secret-set').filter({ hasText: 'App secret: set' }).waitFor();
    await line.locator('.channel-plugin .state-loaded').waitFor();
    await line.locator('.channel-state').filter({ hasText: 'Enabled' }).waitFor();
    const leaks = async () => page.evaluate((secret) => document.documentElement.outerHTML.includes(secret)
      || [...document.querySelectorAll('input, textarea')].some((el) => el.value.includes(secret)), SECRET);
    assert.equal(await leaks(), false);

    // Edit: the secret shows as set, blank keeps it; a config change reaches the plugin.
    await page.getByRole('button', { name: 'Edit: WhatsApp Sales', exact: true }).click();
    await page.locator('#channel-edit-dialog').waitFor();
    assert.equal(await page.inputValue('#edit-channel-setting-app_secret'), '');
    await page.screenshot({ path: join(SHOTS, '23-channel-edit.png') });
    await page.locator('#edit-channel-setting-app_secret-state').filter({ hasText: 'Set. Leave blank to keep it.' }).waitFor();
    assert.equal(await page.inputValue('#edit-channel-setting-verify_token'), 'verify-me');
    assert.equal(await leaks(), false);
    await page.fill('#edit-channel-setting-verify_token', 'verify-2');
    await page.click('#edit-channel-submit');
    await page.locator('#channel-edit-dialog').waitFor({ state: 'detached' });
    const { channel } = await server.api('GET', `/api/v1/channels/${made.id}`);
    assert.equal(channel.config.verify_token, 'verify-2');
    assert.deepEqual(channel.secrets_set, ['app_secret']);
    const handshake = await server.request('GET', `/webhooks/${made.id}?hub.mode=subscribe&hub.verify_token=verify-2&hub.challenge=4711`);
    assert.equal(handshake.status, 200);
    assert.equal(handshake.text, '4711');
    await page.screenshot({ path: join(SHOTS, '21-channels.png') });

    // A secret that is not required can be removed.
    await page.getByRole('button', { name: 'Edit: WhatsApp Sales', exact: true }).click();
    await page.getByRole('checkbox', { name: 'Remove the stored App secret', exact: true }).check();
    await page.click('#edit-channel-submit');
    await line.locator('.secret-unset').filter({ hasText: 'App secret: not set' }).waitFor();
    assert.deepEqual((await server.api('GET', `/api/v1/channels/${made.id}`)).channel.secrets_set, []);
  });

  it('creates an API channel and shows its token once; disables it and rotates the token', async () => {
    await page.selectOption('#channel-kind', 'api');
    assert.equal(await page.locator('#channel-settings').count(), 0);
    await page.fill('#channel-name', 'Integrator');
    await page.fill('#channel-webhook', 'http://127.0.0.1:9/hook');
    await page.click('#channel-create-submit');
    await page.locator('#channel-once-warning').filter({ hasText: 'Shown only once' }).waitFor();
    const token = await page.inputValue('#channel-once-token');
    const secret = await page.inputValue('#channel-once-secret');
    assert.ok(token.length > 20 && secret.length > 20);
    await page.getByRole('button', { name: 'Copy: Inbound token', exact: true }).waitFor();
    await page.screenshot({ path: join(SHOTS, '22-channel-token-once.png') });
    const { channels } = await server.api('GET', '/api/v1/channels');
    const api = channels.find((c) => c.name === 'Integrator');
    ids.api = api.id;
    assert.equal(api.webhook_url, 'http://127.0.0.1:9/hook');
    assert.equal(await page.inputValue('#channel-once-url'), `${server.base}/webhooks/${api.id}`);
    // The token shown is the one that works.
    await server.inbound({ channel: api, inbound_token: token }, { id: 'c-1', name: 'Cem' }, { type: 'text', text: 'hi' }, 'm-1');
    await page.click('#channel-once-done');
    await page.locator('#channel-once-token').waitFor({ state: 'detached' });
    await page.reload();
    await channelRow('Integrator').waitFor();
    assert.equal(await page.evaluate((t) => document.documentElement.outerHTML.includes(t), token), false);

    await page.getByRole('button', { name: 'Disable: Integrator', exact: true }).click();
    await channelRow('Integrator').locator('.channel-state').filter({ hasText: 'Disabled' }).waitFor();
    assert.equal((await server.api('GET', `/api/v1/channels/${api.id}`)).channel.disabled, true);
    await page.getByRole('button', { name: 'Enable: Integrator', exact: true }).click();
    await channelRow('Integrator').locator('.channel-state').filter({ hasText: 'Enabled' }).waitFor();

    await page.getByRole('button', { name: 'New token: Integrator', exact: true }).click();
    await page.click('#channel-rotate-dialog-confirm');
    await page.locator('#channel-once-title').filter({ hasText: 'New token for Integrator' }).waitFor();
    const rotated = await page.inputValue('#channel-once-token');
    assert.notEqual(rotated, token);
    const old = await server.request('POST', `/webhooks/${api.id}`, {
      body: { type: 'message', message_id: 'm-2', contact: { id: 'c-1' }, content: { type: 'text', text: 'again' } },
      headers: { authorization: `Bearer ${token}` },
    });
    assert.ok([401, 403].includes(old.status), `the old token answered ${old.status}`);
  });

  it('upgrades a plugin through the page, its channel keeps working, and an older file is refused', async () => {
    await page.click('#admin-plugins-link');
    await pluginRow('well-behaved').waitFor();
    await page.setInputFiles('#plugin-file', join(WASM, 'well_behaved_next.wasm'));
    await page.click('#plugin-install-submit');
    await page.locator('#plugin-install-result').filter({ hasText: 'well-behaved upgraded from 0.1.0 to 0.2.0.' }).waitFor({ timeout: INSTALL_TIMEOUT });
    await pluginRow('well-behaved').locator('.plugin-version').filter({ hasText: '0.2.0' }).waitFor();
    await pluginRow('well-behaved').locator('.plugin-description').filter({ hasText: 'next version' }).waitFor();
    const handshake = await server.request('GET', `/webhooks/${ids.plugin}?hub.mode=subscribe&hub.verify_token=verify-2&hub.challenge=815`);
    assert.equal(handshake.text, '815');

    await page.setInputFiles('#plugin-file', join(WASM, 'well_behaved.wasm'));
    await page.click('#plugin-install-submit');
    await page.locator('#plugin-install-error').filter({ hasText: /^Refused: .*0\.1\.0/ }).waitFor({ timeout: INSTALL_TIMEOUT });
    assert.equal(await page.textContent('#plugin-install-result'), '');
    await pluginRow('well-behaved').locator('.plugin-version').filter({ hasText: '0.2.0' }).waitFor();
  });

  it('shows a plugin the circuit breaker stopped, on its channel too, and enables it again', async () => {
    const installed = await server.request('POST', '/api/v1/plugins', {
      raw: readFileSync(join(WASM, 'trap.wasm')),
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/wasm' },
    });
    assert.equal(installed.status, 201, installed.text);
    const { channel } = await server.createChannel({ name: 'Trapping', kind: 'trap' });
    // Its parse-webhook panics: enough failures in a row open the breaker.
    for (let i = 0; i < 10; i += 1) {
      const listed = (await server.api('GET', '/api/v1/plugins')).plugins.find((p) => p.name === 'trap');
      if (listed.tripped) break;
      await server.request('POST', `/webhooks/${channel.id}`, { body: { n: i } });
    }
    await page.click('#admin-channels-link');
    await channelRow('Trapping').locator('.channel-plugin .state-tripped').filter({ hasText: 'Stopped by the circuit breaker' }).waitFor();
    await page.click('#admin-plugins-link');
    const trap = pluginRow('trap');
    await trap.locator('.state-tripped').waitFor();
    assert.notEqual(await trap.locator('.plugin-errors').textContent(), '0');
    await page.getByRole('button', { name: 'Enable: trap', exact: true }).click();
    await trap.locator('.state-loaded').waitFor();
    assert.equal((await server.api('GET', '/api/v1/plugins')).plugins.find((p) => p.name === 'trap').tripped, false);
  });

  it('refuses to remove a plugin a channel uses, shows its health on the channel, removes an unused one', async () => {
    await page.click('#admin-plugins-link');
    await pluginRow('well-behaved').waitFor();
    await page.getByRole('button', { name: 'Remove: well-behaved', exact: true }).click();
    await page.click('#plugin-remove-dialog-confirm');
    await page.locator('#plugin-remove-dialog-error').filter({ hasText: 'Not removed: channels still use this plugin.' }).waitFor();
    await page.keyboard.press('Escape');
    await page.locator('#plugin-remove-dialog').waitFor({ state: 'detached' });
    await pluginRow('well-behaved').waitFor();

    await page.getByRole('button', { name: 'Remove: template-channel', exact: true }).click();
    await page.click('#plugin-remove-dialog-confirm');
    await pluginRow('template-channel').waitFor({ state: 'detached' });
    assert.deepEqual((await server.api('GET', '/api/v1/plugins')).plugins.map((p) => p.name).sort(), ['trap', 'well-behaved']);

    // A disabled plugin shows on its channels.
    await page.getByRole('button', { name: 'Disable: well-behaved', exact: true }).click();
    await pluginRow('well-behaved').locator('.state-disabled').waitFor();
    await page.click('#admin-channels-link');
    await channelRow('WhatsApp Sales').locator('.channel-plugin .state-disabled').filter({ hasText: 'Disabled' }).waitFor();
    assert.deepEqual(await page.locator('#channel-kind option').allTextContents(), ['API', 'trap 0.1.0']);

    await page.selectOption('#pref-language', 'tr');
    await page.locator('#admin-channels-title').filter({ hasText: 'Kanallar' }).waitFor();
    await page.click('#admin-plugins-link');
    await page.locator('#admin-plugins-title').filter({ hasText: 'Kurulu eklentiler' }).waitFor();
    await pluginRow('well-behaved').locator('.state-disabled').filter({ hasText: 'Devre dışı' }).waitFor();
    await page.selectOption('#pref-language', 'en');
    assert.deepEqual(problems, []);
  });

  it('after a restart: a plugin that failed to load shows why; signed-only mode takes the signature file', async () => {
    // A key, a signed copy of echo_flow.wasm, and the server restarted to
    // accept only plugins signed by that key.
    const key = join(dropins, 'author.key');
    const keygen = execFileSync(binary(), ['plugin', 'keygen', '--out', key], { encoding: 'utf8' });
    const publicKey = /public key[^:]*: (\S+)/.exec(keygen)[1];
    const keyId = /key id: ([0-9a-f]+)/.exec(keygen)[1];
    const wasm = join(dropins, 'signed', 'echo_flow.wasm');
    mkdirSync(join(dropins, 'signed'));
    copyFileSync(join(WASM, 'echo_flow.wasm'), wasm);
    execFileSync(binary(), ['plugin', 'sign', '--key', key, wasm]);
    rmSync(join(dropins, 'template_channel.wasm'));
    server.env = { ...server.env, OMNIGATE_PLUGINS__REQUIRE_SIGNED: 'true', OMNIGATE_PLUGINS__TRUSTED_KEYS: publicKey };
    // And trap's stored file goes missing: it fails to load, with the reason.
    const trap = (await server.api('GET', '/api/v1/plugins')).plugins.find((p) => p.name === 'trap');
    await server.restart({ whileStopped: () => rmSync(join(server.dataDir, 'plugin-store', `${trap.sha256}.wasm`)) });
    await page.goto(`${server.base}/admin/plugins`);
    await pluginRow('well-behaved').locator('.state-disabled').waitFor();
    await pluginRow('trap').locator('.state-failed').filter({ hasText: 'Failed to load' }).waitFor();
    await pluginRow('trap').locator('.load-error').filter({ hasText: trap.sha256 }).waitFor();

    await page.setInputFiles('#plugin-file', wasm);
    await page.click('#plugin-install-submit');
    await page.locator('#plugin-install-error').filter({ hasText: /^Refused: .*signed plugins only/ }).waitFor({ timeout: INSTALL_TIMEOUT });
    await page.setInputFiles('#plugin-file', wasm);
    await page.setInputFiles('#plugin-signature', `${wasm}.sig`);
    await page.click('#plugin-install-submit');
    await page.locator('#plugin-install-result').filter({ hasText: 'echo-flow 0.1.0 installed.' }).waitFor({ timeout: INSTALL_TIMEOUT });
    const row = pluginRow('echo-flow');
    await row.locator('.plugin-signed').filter({ hasText: keyId }).waitFor();
    await row.locator('td').filter({ hasText: /^Flow$/ }).waitFor();
    await row.locator('.state-loaded').waitFor();
    await page.screenshot({ path: join(SHOTS, '24-plugins-states.png') });
    assert.deepEqual(problems, []);
  });
});
