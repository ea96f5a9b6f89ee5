// Admin → Shops and the contact panel's orders and products in headless
// Chromium against the real binary, with the test shop of plugins/testing
// (echo-commerce: fixed answers, no HTTP; two orders for a phone ending in
// 7; every call refused when its API key does not start with `echo-`),
// dropped into plugins.dir before start. Imported by console.test.js so
// that `node --test console.test.js` (cargo xtask test) runs it too.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, copyFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Server, ADMIN } from './harness.js';
import { launchChromium, openPage, signIn as signInAt, SHOTS, WASM } from './browser.js';

const KEY = 'echo-Key-Not-To-Be-Shown-e2e';
const AGENT = { email: 'selin@example.com', name: 'Selin Aksoy', password: 'selin-password-123' };
const BUYER = { id: 'cust-buyer', name: 'Ayşe Yılmaz', phone: '+905551112237' };
const BROWSER = { id: 'cust-browser', name: 'Mert Can', phone: '+905551112233' };
const VISITOR = { id: 'visitor-abc', name: 'Web visitor' };

describe('Shops: admin page and the contact panel', { concurrency: false }, () => {
  let server;
  let browser;
  let admin;
  let agent;
  let dropins;
  let channel;
  const problems = [];
  const ids = {};

  const shopRow = (name) => admin.locator('#shop-rows tr').filter({ hasText: name });

  const newPage = (who, viewport) => openPage(browser, who, problems, { viewport, consoleErrors: true });

  const signIn = (page, user) => signInAt(page, server.base, user);

  before(async () => {
    assert.ok(existsSync(join(WASM, 'echo_commerce.wasm')), 'echo_commerce.wasm is missing: run `cargo xtask plugins`');
    dropins = mkdtempSync(join(tmpdir(), 'omnigate-e2e-shops-'));
    copyFileSync(join(WASM, 'echo_commerce.wasm'), join(dropins, 'echo_commerce.wasm'));
    server = await Server.start({ env: { OMNIGATE_PLUGINS__DIR: dropins } });
    await server.createAgent(AGENT.email, AGENT.name, AGENT.password);
    channel = await server.createChannel({ name: 'WhatsApp' });
    browser = await launchChromium();
    admin = await newPage('admin', { width: 1360, height: 900 });
    agent = await newPage('agent', { width: 1440, height: 900 });
    await signIn(admin, ADMIN);
  });

  after(async () => {
    if (browser) await browser.close();
    if (server) await server.stop();
    if (dropins) rmSync(dropins, { recursive: true, force: true });
  });

  it('configures shops on the Shops page from the commerce plugin\'s schema, never showing a secret back', async () => {
    await admin.click('#nav-admin');
    await admin.click('#admin-shops-link');
    await admin.waitForURL('**/admin/shops');
    await admin.locator('#shop-rows').filter({ hasText: 'No shops yet.' }).waitFor();
    assert.deepEqual(await admin.locator('#shop-plugin option').allTextContents(), ['echo-commerce 0.1.0']);
    // The form comes from the manifest: a URL with its default, a password.
    assert.equal(await admin.getAttribute('#shop-setting-store_url', 'type'), 'url');
    assert.equal(await admin.inputValue('#shop-setting-store_url'), 'https://shop.example.com');
    assert.equal(await admin.getAttribute('#shop-setting-api_key', 'type'), 'password');

    await admin.fill('#shop-name', 'Echo shop');
    await admin.getByLabel('API key').fill(KEY);
    await admin.click('#shop-create-submit');
    await admin.locator('#shop-created').filter({ hasText: 'Shop Echo shop created.' }).waitFor();
    await shopRow('Echo shop').locator('.shop-health .state-loaded').filter({ hasText: 'Loaded' }).waitFor();
    await shopRow('Echo shop').locator('.secret-set').filter({ hasText: 'API key: set' }).waitFor();

    // A second shop whose key the shop refuses, and a third to delete.
    for (const [name, key] of [['Broken shop', 'wrong-key'], ['Old shop', '']]) {
      await admin.fill('#shop-name', name);
      if (key) await admin.fill('#shop-setting-api_key', key);
      await admin.click('#shop-create-submit');
      await admin.locator('#shop-created').filter({ hasText: `Shop ${name} created.` }).waitFor();
    }
    const { shops } = await server.api('GET', '/api/v1/shops');
    assert.deepEqual(shops.map((s) => [s.name, s.plugin, s.disabled, s.secrets_set]), [
      ['Echo shop', 'echo-commerce', false, ['api_key']],
      ['Broken shop', 'echo-commerce', false, ['api_key']],
      ['Old shop', 'echo-commerce', false, []],
    ]);
    for (const s of shops) ids[s.name] = s.id;
    assert.equal(shops[0].config.store_url, 'https://shop.example.com');
    await shopRow('Old shop').locator('.secret-unset').filter({ hasText: 'API key: not set' }).waitFor();
    const leaks = async () => admin.evaluate((secret) => document.documentElement.outerHTML.includes(secret)
      || [...document.querySelectorAll('input, textarea')].some((el) => el.value.includes(secret)), KEY);
    assert.equal(await leaks(), false);

    // Edit: the secret shows as set and stays when left blank.
    await admin.getByRole('button', { name: 'Edit: Echo shop', exact: true }).click();
    await admin.locator('#shop-edit-dialog').waitFor();
    assert.equal(await admin.inputValue('#edit-shop-setting-api_key'), '');
    await admin.locator('#edit-shop-setting-api_key-state').filter({ hasText: 'Set. Leave blank to keep it.' }).waitFor();
    assert.equal(await leaks(), false);
    await admin.fill('#edit-shop-setting-store_url', 'https://magaza.example.com/');
    await admin.screenshot({ path: join(SHOTS, '31-shop-edit.png') });
    await admin.click('#edit-shop-submit');
    await admin.locator('#shop-edit-dialog').waitFor({ state: 'detached' });
    const { shops: edited } = await server.api('GET', '/api/v1/shops');
    assert.equal(edited[0].config.store_url, 'https://magaza.example.com/');
    assert.deepEqual(edited[0].secrets_set, ['api_key']);

    // Disable and enable, by keyboard: the focus stays on the button.
    await admin.getByRole('button', { name: 'Disable: Old shop', exact: true }).focus();
    await admin.keyboard.press('Enter');
    await shopRow('Old shop').locator('.shop-state').filter({ hasText: 'Disabled' }).waitFor();
    await admin.waitForFunction((id) => document.activeElement?.id === `shop-toggle-${id}`, ids['Old shop']);
    assert.equal((await server.api('GET', '/api/v1/shops')).shops[2].disabled, true);
    await admin.keyboard.press('Enter');
    await shopRow('Old shop').locator('.shop-state').filter({ hasText: 'Enabled' }).waitFor();

    // Delete asks first; Cancel keeps it.
    await admin.getByRole('button', { name: 'Delete: Old shop', exact: true }).click();
    await admin.locator('#shop-delete-dialog-title').filter({ hasText: 'Delete the shop Old shop?' }).waitFor();
    await admin.click('#shop-delete-dialog-cancel');
    await shopRow('Old shop').waitFor();
    await admin.getByRole('button', { name: 'Delete: Old shop', exact: true }).click();
    await admin.click('#shop-delete-dialog-confirm');
    await shopRow('Old shop').waitFor({ state: 'detached' });
    assert.deepEqual((await server.api('GET', '/api/v1/shops')).shops.map((s) => s.name), ['Echo shop', 'Broken shop']);
    await admin.screenshot({ path: join(SHOTS, '30-shops.png'), fullPage: true });

    // The audit log has each change (the server writes it).
    const audit = await server.api('GET', '/api/v1/audit?action=shop.');
    assert.ok(audit.entries.filter((r) => r.action === 'shop.configured').length >= 7, JSON.stringify(audit.entries.map((r) => r.action)));
  });

  it('shows the contact\'s orders beside the conversation, a failing shop\'s reason, and an order\'s details', async () => {
    ids.buyer = (await server.inbound(channel, BUYER, { type: 'text', text: 'Siparişim nerede?' }, 'm-1')).conversation_id;
    ids.browser = (await server.inbound(channel, BROWSER, { type: 'text', text: 'Mavi tişört var mı?' }, 'm-2')).conversation_id;
    const orderCalls = [];
    agent.on('request', (r) => { if (/\/orders$/.test(new URL(r.url()).pathname)) orderCalls.push(r.url()); });
    await signIn(agent, AGENT);
    await agent.click('#presence-online');
    await agent.locator(`#conv-list li[data-id="${ids.buyer}"]`).waitFor();
    await agent.locator(`#conv-list li[data-id="${ids.browser}"]`).waitFor();
    await agent.click(`#conv-list li[data-id="${ids.buyer}"] a`);

    const echo = agent.locator(`#shop-orders section[data-shop="${ids['Echo shop']}"]`);
    await echo.locator('li.order').first().waitFor();
    assert.deepEqual(await echo.locator('.order-open').allTextContents(), ['#1001', '#998']);
    const first = echo.locator('li.order[data-order="1001"]');
    await first.locator('.order-status').filter({ hasText: 'Shipped · Kargoya verildi' }).waitFor();
    const total = await agent.evaluate(() => new Intl.NumberFormat('en-US', { style: 'currency', currency: 'TRY' }).format(349.7));
    assert.equal(await first.locator('.order-total').textContent(), total);
    assert.equal(await first.locator('.order-items').textContent(), '2 × Mavi tişört - M, 1 × Çorap');
    assert.equal(await first.locator('time').getAttribute('datetime'), '2026-11-20T10:30:00Z');
    assert.match(await first.locator('time').textContent(), /Nov 20, 2026/);
    // The broken shop says why, beside the other's orders.
    const broken = agent.locator(`#shop-orders section[data-shop="${ids['Broken shop']}"]`);
    await broken.locator('.shop-error').filter({
      hasText: 'The orders could not be loaded: the shop refused the credentials; an admin must fix them: the API key is not an echo key',
    }).waitFor();
    assert.equal(await broken.locator('li.order').count(), 0);

    // An order's details, by keyboard; Escape gives the focus back.
    await agent.getByRole('button', { name: 'Details of order #1001', exact: true }).focus();
    await agent.keyboard.press('Enter');
    const dlg = agent.locator('#order-dialog');
    await dlg.locator('#order-dialog-title').filter({ hasText: 'Order #1001 · Echo shop' }).waitFor();
    // Then as the shop gives it now (no note left).
    await agent.waitForFunction(() => document.getElementById('order-note')?.textContent === '');
    assert.deepEqual(await dlg.locator('.order-lines tbody tr td:first-child').allTextContents(), ['Mavi tişört - M', 'Çorap']);
    assert.equal(await dlg.locator('.order-lines tbody tr').first().locator('td').nth(1).textContent(), 'TS-MAVI-M');
    const link = dlg.getByRole('link', { name: 'Yurtiçi Kargo: YK123456' });
    assert.equal(await link.getAttribute('href'), 'https://kargo.example.com/track/YK123456');
    assert.equal(await link.getAttribute('rel'), 'noopener noreferrer');
    await agent.screenshot({ path: join(SHOTS, '33-order-details.png') });
    await agent.keyboard.press('Escape');
    await dlg.waitFor({ state: 'detached' });
    await agent.waitForFunction(() => document.activeElement?.classList.contains('order-open'));

    // Another conversation asks again, once; the orders are that contact's.
    const before = orderCalls.length;
    assert.equal(before, 1);
    await agent.click(`#conv-list li[data-id="${ids.browser}"] a`);
    await agent.locator(`#shop-orders section[data-shop="${ids['Echo shop']}"] .empty`).filter({ hasText: 'No orders in this shop.' }).waitFor();
    await agent.fill('#composer-text', 'typing does not ask the shops again');
    await agent.click(`#conv-list li[data-id="${ids.buyer}"] a`);
    await echo.locator('li.order').first().waitFor();
    assert.equal(orderCalls.length, before + 2);

    // A contact without a phone: no shop can be asked, and the panel says so.
    ids.visitor = (await server.inbound(channel, VISITOR, { type: 'text', text: 'Merhaba' }, 'm-3')).conversation_id;
    await agent.locator(`#conv-list li[data-id="${ids.visitor}"]`).waitFor();
    await agent.click(`#conv-list li[data-id="${ids.visitor}"] a`);
    await agent.locator('#shop-no-phone').filter({ hasText: 'This contact has no phone number, so their orders cannot be looked up.' }).waitFor();
    await agent.click(`#conv-list li[data-id="${ids.buyer}"] a`);
    await echo.locator('li.order').first().waitFor();
  });

  it('searches products (debounced) with a shop picker, inserts one into the reply as text, and shows a failing search', async () => {
    const productCalls = [];
    agent.on('request', (r) => { if (/\/products$/.test(new URL(r.url()).pathname)) productCalls.push(new URL(r.url()).searchParams.get('q')); });
    assert.deepEqual(await agent.locator('#product-shop option').allTextContents(), ['Echo shop', 'Broken shop']);
    await agent.selectOption('#product-shop', String(ids['Echo shop']));
    await agent.locator('label[for="product-query"]').filter({ hasText: 'Search products in Echo shop' }).waitFor();
    await agent.locator('#product-query').pressSequentially('Mavi tişört', { delay: 40 });
    const product = agent.locator('#product-results li.product');
    await product.locator('.product-title').filter({ hasText: 'Mavi tişört' }).waitFor();
    assert.deepEqual(productCalls, ['Mavi tişört']);
    await agent.locator('#product-status').filter({ hasText: '1 product found.' }).waitFor();
    const price = await agent.evaluate(() => new Intl.NumberFormat('en-US', { style: 'currency', currency: 'TRY' }).format(149.9));
    assert.equal(await product.locator('.product-meta .product-price').textContent(), price);
    assert.equal(await product.locator('.product-meta .product-stock').textContent(), '5 in stock');
    assert.equal(await product.locator('.product-meta .product-sku').textContent(), 'SKU ECHO-1');
    assert.equal(await product.locator('.product-title a').getAttribute('href'), 'https://magaza.example.com/products/p1');
    const variants = product.getByRole('list', { name: 'Variants of Mavi tişört' }).locator('li');
    assert.deepEqual(await variants.locator('.variant-title').allTextContents(), ['M', 'L']);
    assert.equal(await variants.nth(1).locator('.product-stock').textContent(), 'Out of stock');
    assert.equal(await variants.nth(1).locator('.product-sku').textContent(), 'SKU ECHO-1-L');
    // The shop's picture (https), decorative, sent without a referrer.
    const thumb = product.locator('img.product-thumb');
    assert.equal(await thumb.getAttribute('src'), 'https://magaza.example.com/images/p1.png');
    assert.equal(await thumb.getAttribute('alt'), '');
    assert.equal(await thumb.getAttribute('referrerpolicy'), 'no-referrer');

    await agent.fill('#composer-text', 'Bu ürünü öneririm:');
    await agent.getByRole('button', { name: 'Insert into reply: Mavi tişört', exact: true }).click();
    const expected = `Bu ürünü öneririm:\nMavi tişört — ${price}\nhttps://magaza.example.com/products/p1`;
    assert.equal(await agent.inputValue('#composer-text'), expected);
    await agent.waitForFunction(() => document.activeElement?.id === 'composer-text');
    await agent.screenshot({ path: join(SHOTS, '32-contact-shop-panel.png') });
    await agent.keyboard.press('Enter');
    await agent.locator('#thread li.msg-outbound .text').filter({ hasText: 'Mavi tişört —' }).waitFor();
    const { messages } = await server.api('GET', `/api/v1/conversations/${ids.buyer}/messages`);
    assert.deepEqual(messages.at(-1).content, { type: 'text', text: expected });

    // Markup from a shop stays text.
    await agent.fill('#product-query', '<img src=x onerror=alert(1)>');
    await agent.keyboard.press('Enter');
    await product.locator('.product-title').filter({ hasText: '<img src=x onerror=alert(1)>' }).waitFor();
    assert.equal(await agent.locator('#product-results img:not(.product-thumb)').count(), 0);
    assert.equal(await agent.locator('#product-results .product-title img').count(), 0);

    // The failing shop's search says why.
    await agent.selectOption('#product-shop', String(ids['Broken shop']));
    await agent.locator('#product-status').filter({ hasText: 'The search failed: the shop refused the credentials; an admin must fix them: the API key is not an echo key' }).waitFor();
    assert.equal(await product.count(), 0);

    // A reply half written survives a switch to another conversation and
    // back, and a switch to Turkish with the conversation open.
    await agent.fill('#composer-text', 'Yarım kalan yanıt');
    await agent.click(`#conv-list li[data-id="${ids.browser}"] a`);
    await agent.locator('#conv-title').filter({ hasText: BROWSER.name }).waitFor();
    // (That conversation has its own draft, from the test before.)
    assert.equal(await agent.inputValue('#composer-text'), 'typing does not ask the shops again');
    await agent.click(`#conv-list li[data-id="${ids.buyer}"] a`);
    await agent.locator('#conv-title').filter({ hasText: BUYER.name }).waitFor();
    assert.equal(await agent.inputValue('#composer-text'), 'Yarım kalan yanıt');
    await agent.selectOption('#pref-language', 'tr');
    await agent.locator('#shop-orders-title').filter({ hasText: 'Siparişler' }).waitFor();
    await agent.locator('#conv-title').filter({ hasText: BUYER.name }).waitFor();
    assert.equal(await agent.inputValue('#composer-text'), 'Yarım kalan yanıt');
    await agent.locator('#shop-orders .order-status').first().filter({ hasText: 'Kargoda · Kargoya verildi' }).waitFor();
    await agent.locator('label[for="product-query"]').filter({ hasText: 'Echo shop içinde ürün ara' }).waitFor();
    await agent.screenshot({ path: join(SHOTS, '34-contact-shop-panel-tr.png') });
    // The server's error, said in Turkish (its English detail after it).
    await agent.selectOption('#product-shop', String(ids['Broken shop']));
    await agent.fill('#product-query', 'kupa');
    await agent.press('#product-query', 'Enter');
    await agent.locator('#product-status').filter({ hasText: 'Mağazaya ulaşılamadı: the shop refused the credentials' }).waitFor();
    await agent.selectOption('#pref-language', 'en');
    assert.deepEqual(problems, []);
  });
});
