// Admin → Shops: the configured shop integrations (instances of commerce
// plugins) with their plugin's health; create and edit with the form drawn
// from the plugin's settings schema (shared with Admin → Channels), enable
// or disable, delete (confirmed). Secrets are write-only: the console sends
// them and only ever shows whether they are set. The server audits every
// change.

import { h, replace, keepFocus, $ } from './dom.js';
import { t } from './i18n.js';
import { api } from './api.js';
import { fail, errorText, toast, link } from './state.js';
import { loadPlugins, confirmDialog, whileShown, whileBusy, onPluginChange, POLL_MS } from './plugins.js';
import { settingsFields, secretsList, enableToggle, enabledBadge, pluginHealth } from './plugin_settings.js';

const commercePlugins = (plugins) => plugins.filter((p) => p.kind === 'commerce');

export function renderShops(root) {
  const list = h('div', { id: 'shops-table' });
  const create = h('div', { id: 'shop-create' });
  replace(root,
    h('section', { id: 'admin-shops', 'aria-labelledby': 'admin-shops-title' },
      h('h2', { id: 'admin-shops-title', text: t('shops.title') }),
      h('p', { class: 'hint', text: t('shops.hint') }),
      list),
    h('section', { id: 'admin-shop-create', 'aria-labelledby': 'shop-create-title' },
      h('h2', { id: 'shop-create-title', text: t('shops.create') }),
      create));
  const ctx = { list, create, plugins: [] };
  ctx.refresh = () => drawList(ctx);
  // Plugin health changes without a live event: re-read now and then.
  whileShown(list, POLL_MS, () => drawList(ctx, true));
  onPluginChange(list, () => drawList(ctx, true));
  return ctx.refresh().then(() => drawCreate(ctx));
}

// ---- the list ---------------------------------------------------------

async function drawList(ctx, quiet = false) {
  const [plugins, answer] = await Promise.all([
    loadPlugins(quiet),
    api('GET', '/api/v1/shops').catch((e) => { if (!quiet) fail(e); return null; }),
  ]);
  if (!answer || !plugins) return;
  const seen = JSON.stringify([plugins, answer]);
  if (quiet && seen === ctx.seen) return;
  const pluginsChanged = JSON.stringify(ctx.plugins) !== JSON.stringify(plugins);
  ctx.seen = seen;
  ctx.plugins = plugins;
  const rows = answer.shops.map((s) => {
    const plugin = plugins.find((p) => p.name === s.plugin);
    const toggle = enableToggle(`shop-toggle-${s.id}`, s, `/api/v1/shops/${s.id}`, ctx.refresh);
    return h('tr', { dataset: { shop: s.id } },
      h('td', { class: 'shop-name', text: s.name }),
      h('td', { class: 'shop-plugin', text: s.plugin }),
      h('td', { class: 'shop-state' },
        enabledBadge(s)),
      h('td', { class: 'shop-health' },
        pluginHealth(plugin)),
      h('td', { class: 'shop-secrets' }, secretsList(s, plugin)),
      h('td', { class: 'row-actions' },
        h('button', { type: 'button', id: `shop-edit-${s.id}`, text: t('channels.edit'), 'aria-label': `${t('channels.edit')}: ${s.name}`, on: { click: () => openEdit(ctx, s) } }),
        toggle,
        h('button', {
          type: 'button',
          class: 'danger',
          id: `shop-delete-${s.id}`,
          text: t('admin.delete'),
          'aria-label': `${t('admin.delete')}: ${s.name}`,
          on: { click: () => confirmDelete(ctx, s) },
        })));
  });
  keepFocus(ctx.list, () => replace(ctx.list,
    h('table', { 'aria-labelledby': 'admin-shops-title' },
      h('thead', {}, h('tr', {}, [
        t('admin.name'), t('shops.plugin'), t('channels.state'), t('channels.plugin_health'), t('channels.secrets'), t('plugins.actions'),
      ].map((label) => h('th', { scope: 'col', text: label })))),
      h('tbody', { id: 'shop-rows' }, rows.length ? rows : h('tr', {}, h('td', { colSpan: 6, class: 'empty', text: t('shops.none') }))))));
  // A plugin installed, enabled or disabled elsewhere changes what can be
  // created; the form is redrawn then (only then: it may hold typing).
  if (quiet && pluginsChanged) drawCreate(ctx);
}

function confirmDelete(ctx, s) {
  confirmDialog('shop-delete-dialog', t('shops.delete_title', { name: s.name }), t('shops.delete_text'), t('admin.delete'), async () => {
    try {
      await api('DELETE', `/api/v1/shops/${s.id}`);
    } catch (e) {
      if (e.code === 'network') throw new Error(t('error.network'));
      throw e;
    }
    toast(t('shops.deleted', { name: s.name }));
    await ctx.refresh();
  });
}

// ---- create -----------------------------------------------------------

function drawCreate(ctx) {
  const usable = commercePlugins(ctx.plugins).filter((p) => p.loaded);
  if (!usable.length) {
    replace(ctx.create, h('p', { class: 'hint', id: 'shop-no-plugin' },
      t('shops.no_plugins'), ' ', link('/admin/plugins', { text: t('admin.plugins') })));
    return;
  }
  const plugin = h('select', { id: 'shop-plugin' },
    usable.map((p) => h('option', { value: p.name, text: `${p.name} ${p.version}` })));
  const name = h('input', { id: 'shop-name', required: true, maxLength: 100, autocomplete: 'off' });
  const disabled = h('input', { id: 'shop-disabled', type: 'checkbox' });
  const settingsBox = h('div', { id: 'shop-settings-box' });
  const error = h('p', { class: 'form-error', role: 'alert', id: 'shop-create-error' });
  const result = h('p', { class: 'result', role: 'status', id: 'shop-created', tabIndex: -1 });
  const submit = h('button', { type: 'submit', class: 'primary', id: 'shop-create-submit', text: t('shops.create_submit') });
  let settings = null;
  const pickPlugin = () => {
    settings = settingsFields('shop', usable.find((p) => p.name === plugin.value), null);
    replace(settingsBox, settings.fieldset);
  };
  plugin.addEventListener('change', pickPlugin);
  const form = h('form', {
    class: 'channel-form',
    'aria-labelledby': 'shop-create-title',
    on: {
      submit: async (event) => {
        event.preventDefault();
        error.textContent = '';
        result.textContent = '';
        const body = { name: name.value.trim(), plugin: plugin.value, disabled: disabled.checked };
        if (!settings.fill(body, error)) return;
        await whileBusy(submit, async () => {
          try {
            const shop = await api('POST', '/api/v1/shops', body);
            await ctx.refresh();
            drawCreate(ctx);
            const shown = $('shop-created');
            shown.textContent = t('shops.created', { name: shop.name });
            shown.focus();
          } catch (e) {
            error.textContent = errorText(e);
          }
        });
      },
    },
  },
  h('div', { class: 'inline-form' },
    h('div', { class: 'field' }, h('label', { for: 'shop-plugin', text: t('shops.plugin') }), plugin),
    h('div', { class: 'field' }, h('label', { for: 'shop-name' }, t('admin.name'), h('span', { class: 'required', 'aria-hidden': 'true', text: ' *' })), name),
    h('div', { class: 'field field-check' }, h('label', { for: 'shop-disabled', text: t('channels.disabled') }), disabled)),
  settingsBox,
  error,
  h('div', { class: 'buttons' }, submit),
  result);
  replace(ctx.create, form);
  pickPlugin();
}

// ---- edit -------------------------------------------------------------

function openEdit(ctx, s) {
  const plugin = ctx.plugins.find((p) => p.name === s.plugin && p.loaded);
  const name = h('input', { id: 'edit-shop-name', required: true, maxLength: 100, value: s.name, autocomplete: 'off' });
  const disabled = h('input', { id: 'edit-shop-disabled', type: 'checkbox', checked: s.disabled });
  const settings = plugin ? settingsFields('edit-shop', plugin, s) : null;
  const error = h('p', { class: 'form-error', role: 'alert', id: 'edit-shop-error' });
  const submit = h('button', { type: 'submit', class: 'primary', id: 'edit-shop-submit', text: t('admin.save') });
  const dlg = h('dialog', { id: 'shop-edit-dialog', 'aria-labelledby': 'shop-edit-title', class: 'wide-dialog' });
  const form = h('form', {
    on: {
      submit: async (event) => {
        event.preventDefault();
        error.textContent = '';
        const body = { name: name.value.trim(), disabled: disabled.checked };
        if (settings && !settings.fill(body, error)) return;
        await whileBusy(submit, async () => {
          try {
            await api('PATCH', `/api/v1/shops/${s.id}`, body);
            dlg.close();
            toast(t('admin.saved'));
            await ctx.refresh();
          } catch (e) {
            error.textContent = errorText(e);
          }
        });
      },
    },
  },
  h('h2', { id: 'shop-edit-title', text: t('shops.edit_title', { name: s.name }) }),
  h('div', { class: 'field' }, h('label', { for: 'edit-shop-name', text: t('admin.name') }), name),
  h('div', { class: 'field field-check' }, h('label', { for: 'edit-shop-disabled', text: t('channels.disabled') }), disabled),
  settings ? settings.fieldset : h('p', { class: 'hint', id: 'edit-shop-no-plugin', text: t('channels.plugin_not_loaded', { plugin: s.plugin }) }),
  error,
  h('div', { class: 'buttons' },
    submit,
    h('button', { type: 'button', id: 'edit-shop-cancel', text: t('action.cancel'), on: { click: () => dlg.close() } })));
  dlg.append(form);
  dlg.addEventListener('close', () => dlg.remove());
  document.body.append(dlg);
  dlg.showModal();
  name.focus();
}
