// Admin → Flows and the Flows button in headless Chromium against the real
// binary, with the first-party guided-flow plugin dropped into plugins.dir:
// an admin creates a flow (a broken definition is refused with the step at
// fault), makes it a channel's default flow, a customer is answered by the
// bot, and an agent hands a conversation of another channel to the flow.
// Imported by console.test.js so that `node --test console.test.js` runs it.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, copyFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Server, ADMIN } from './harness.js';
import { launchChromium, openPage, signIn, SHOTS, WASM } from './browser.js';


const DEFINITION = JSON.stringify({
  start: 'menu',
  steps: {
    menu: {
      say: ['Merhaba {{contact.name}}!'],
      ask: {
        text: 'Size nasıl yardımcı olabiliriz?',
        choices: [
          { id: 'order', title: 'Siparişim nerede', next: 'number' },
          { id: 'agent', title: 'Temsilciye bağlan', next: 'agent' },
        ],
      },
    },
    number: { say: ['Sipariş numaranızı yazar mısınız?'], input: { variable: 'order_number', next: 'agent' } },
    agent: { say: ['Sizi bir temsilciye bağlıyorum.'], handoff: { note: '{{order_number}}' } },
  },
}, null, 2);

describe('Admin: chatbot flows', { concurrency: false }, () => {
  let server;
  let browser;
  let page;
  let dropins;
  const problems = [];

  const botTexts = async (conversation) => {
    const { messages } = await server.api('GET', `/api/v1/conversations/${conversation}/messages`);
    return messages.filter((m) => m.author === 'bot' && m.direction === 'outbound').map((m) => m.content.text || m.content.body);
  };
  const waitFor = async (what, check) => {
    for (let i = 0; i < 200; i += 1) {
      const value = await check();
      if (value) return value;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out waiting for ${what}`);
  };

  before(async () => {
    assert.ok(existsSync(join(WASM, 'guided_flow.wasm')), 'guided_flow.wasm is missing: run `cargo xtask plugins`');
    dropins = mkdtempSync(join(tmpdir(), 'omnigate-e2e-flows-'));
    copyFileSync(join(WASM, 'guided_flow.wasm'), join(dropins, 'guided_flow.wasm'));
    server = await Server.start({ env: { OMNIGATE_PLUGINS__DIR: dropins } });
    server.token = await server.adminToken();
    browser = await launchChromium();
    page = await openPage(browser, 'admin', problems, { viewport: { width: 1360, height: 900 } });
    await signIn(page, server.base, ADMIN);
  });

  after(async () => {
    if (browser) await browser.close();
    if (server) await server.stop();
    if (dropins) rmSync(dropins, { recursive: true, force: true });
  });

  it('creates a flow, refusing a broken definition with the step at fault', async () => {
    await page.click('#nav-admin');
    await page.click('#admin-flows-link');
    await page.waitForURL('**/admin/flows');
    await page.locator('#flow-rows').filter({ hasText: 'No flows yet.' }).waitFor();
    assert.deepEqual(await page.locator('#flow-plugin option').allTextContents(), ['guided-flow 0.1.0']);
    await page.fill('#flow-new-name', 'support');
    await page.fill('#flow-new-setting-definition', '{"start": "menu", "steps": {"menu": {"next": "nowhere"}}}');
    await page.click('#flow-create-submit');
    await page.locator('#flow-create-error').filter({ hasText: 'step `menu`: `next` names `nowhere`, which is not a step' }).waitFor();
    assert.equal((await server.api('GET', '/api/v1/flows')).flows.length, 0);
    await page.fill('#flow-new-setting-definition', DEFINITION);
    assert.equal(await page.inputValue('#flow-new-reason'), 'Resolved');
    await page.click('#flow-create-submit');
    const row = page.locator('#flow-rows tr').filter({ hasText: 'support' });
    await row.locator('.badge-on').waitFor();
    const [flow] = (await server.api('GET', '/api/v1/flows')).flows;
    assert.equal(flow.name, 'support');
    assert.equal(flow.end_reason, 'Resolved');
    assert.equal(flow.config.definition, DEFINITION);
    await page.screenshot({ path: join(SHOTS, '30-flows.png') });
  });

  it('hears of a plugin change at once (live event, not the 30 s re-read)', async () => {
    const plugin = page.locator('#flow-rows tr').filter({ hasText: 'support' }).locator('.flow-plugin');
    await server.api('POST', '/api/v1/plugins/guided-flow/disable');
    await plugin.locator('.state-disabled').waitFor({ timeout: 5000 });
    await server.api('POST', '/api/v1/plugins/guided-flow/enable');
    await plugin.locator('.state-loaded').waitFor({ timeout: 5000 });
  });

  it('makes it a channel\'s default flow, and the bot answers new customers', async () => {
    await page.click('#admin-channels-link');
    await page.waitForURL('**/admin/channels');
    await page.locator('#channel-rows').waitFor();
    await page.fill('#channel-name', 'Web chat bot');
    await page.selectOption('#channel-flow', 'support');
    await page.click('#channel-create-submit');
    await page.locator('#channel-once-token').waitFor();
    const token = await page.inputValue('#channel-once-token');
    const { channels } = await server.api('GET', '/api/v1/channels');
    const channel = channels.find((c) => c.name === 'Web chat bot');
    assert.equal(channel.default_flow, 'support');
    await page.click('#channel-once-done');
    await page.click('#admin-flows-link');
    await page.locator('#flow-rows tr .flow-channels').filter({ hasText: 'Web chat bot' }).waitFor();

    const ack = await server.inbound({ channel, inbound_token: token }, { id: 'c-1', name: 'Ayşe' }, { type: 'text', text: 'Merhaba' }, 'f-1');
    const texts = await waitFor('the bot', async () => {
      const found = await botTexts(ack.conversation_id);
      return found.length >= 2 ? found : null;
    });
    assert.equal(texts[0], 'Merhaba Ayşe!');
    assert.equal(texts[1], 'Size nasıl yardımcı olabiliriz?');
  });

  it('hands an agent\'s conversation to a flow with the Flows button', async () => {
    const plain = await server.createChannel({ name: 'Plain' });
    await page.click('#nav-inbox');
    await page.click('#presence-online');
    await page.locator('#presence-online[aria-checked="true"]').waitFor();
    const ack = await server.inbound(plain, { id: 'c-2', name: 'Mehmet' }, { type: 'text', text: 'Kargom nerede?' }, 'f-2');
    await page.click(`#conv-link-${ack.conversation_id}`);
    await page.click('#action-flow');
    await page.locator('#flow-dialog').waitFor();
    assert.deepEqual(await page.locator('#flow-name option').allTextContents(), ['support']);
    await page.screenshot({ path: join(SHOTS, '31-flow-dialog.png') });
    await page.click('#flow-dialog-submit');
    await page.locator('#flow-dialog').waitFor({ state: 'detached' });
    const texts = await waitFor('the bot', async () => {
      const found = await botTexts(ack.conversation_id);
      return found.length >= 2 ? found : null;
    });
    assert.equal(texts[0], 'Merhaba Mehmet!');
    const { conversation } = await server.api('GET', `/api/v1/conversations/${ack.conversation_id}`);
    assert.equal(conversation.status, 'in_flow');
    assert.deepEqual(problems, []);
  });
});
