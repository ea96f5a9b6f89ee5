// Admin → Flows: the chatbot flows (instances of flow plugins) that
// channels start new conversations in and agents hand conversations to.
// A flow's settings are documents (the guided flow's definition is JSON),
// so its config fields are text areas; the server opens the flow once
// with them before saving and its answer names the mistake, if any.

import { h, replace, keepFocus, $ } from './dom.js';
import { t } from './i18n.js';
import { api } from './api.js';
import { fail, errorText, toast } from './state.js';
import { loadPlugins, confirmDialog, whileShown, whileBusy, onPluginChange, POLL_MS } from './plugins.js';
import { settingsFields, enableToggle, enabledBadge, pluginHealth } from './plugin_settings.js';

const flowPlugins = (plugins) => plugins.filter((p) => p.kind === 'flow');

export function renderFlows(root) {
  const list = h('div', { id: 'flows-table' });
  const create = h('div', { id: 'flow-create' });
  replace(root,
    h('section', { id: 'admin-flows', 'aria-labelledby': 'admin-flows-title' },
      h('h2', { id: 'admin-flows-title', text: t('flows.title') }),
      h('p', { class: 'hint', text: t('flows.hint') }),
      list),
    h('section', { id: 'admin-flow-create', 'aria-labelledby': 'flow-create-title' },
      h('h2', { id: 'flow-create-title', text: t('flows.create') }),
      create));
  const ctx = { list, create, plugins: [], shops: [], reasons: [], channels: [] };
  ctx.refresh = () => drawList(ctx);
  onPluginChange(list, () => drawList(ctx, true));
  whileShown(list, POLL_MS, () => drawList(ctx, true));
  return ctx.refresh().then(() => drawCreate(ctx));
}

async function drawList(ctx, quiet = false) {
  const [plugins, answers] = await Promise.all([
    loadPlugins(quiet),
    Promise.all([
      api('GET', '/api/v1/flows'),
      api('GET', '/api/v1/shops'),
      api('GET', '/api/v1/desk/settings'),
      api('GET', '/api/v1/channels'),
    ]).catch((e) => { if (!quiet) fail(e); return null; }),
  ]);
  if (!plugins || !answers) return;
  const [{ flows }, { shops }, settings, { channels }] = answers;
  const seen = JSON.stringify([plugins, flows, shops, settings, channels]);
  if (quiet && seen === ctx.seen) return;
  ctx.seen = seen;
  Object.assign(ctx, { plugins, shops, reasons: settings.end_reasons, channels });
  const channelName = (id) => (channels.find((c) => c.id === id) || { name: `#${id}` }).name;
  const rows = flows.map((f) => {
    const plugin = plugins.find((p) => p.name === f.plugin);
    const toggle = enableToggle(`flow-toggle-${f.id}`, f, `/api/v1/flows/${f.id}`, ctx.refresh);
    return h('tr', { dataset: { flow: f.id } },
      h('td', { class: 'flow-name', text: f.name }),
      h('td', { class: 'flow-plugin' }, `${f.plugin} `, pluginHealth(plugin)),
      h('td', { class: 'flow-state' },
        enabledBadge(f)),
      h('td', { class: 'flow-channels', text: f.default_of_channels.length ? f.default_of_channels.map(channelName).join(', ') : '—' }),
      h('td', { class: 'row-actions' },
        h('button', { type: 'button', id: `flow-edit-${f.id}`, text: t('channels.edit'), 'aria-label': `${t('channels.edit')}: ${f.name}`, on: { click: () => openEdit(ctx, f) } }),
        toggle,
        h('button', {
          type: 'button',
          id: `flow-delete-${f.id}`,
          class: 'danger',
          text: t('flows.delete'),
          'aria-label': `${t('flows.delete')}: ${f.name}`,
          on: {
            click: () => confirmDialog('flow-delete-dialog', t('flows.delete_title', { name: f.name }), t('flows.delete_text'), t('flows.delete'), async () => {
              await api('DELETE', `/api/v1/flows/${f.id}`);
              toast(t('flows.deleted', { name: f.name }));
              await ctx.refresh();
            }),
          },
        })));
  });
  keepFocus(ctx.list, () => replace(ctx.list,
    h('table', { 'aria-labelledby': 'admin-flows-title' },
      h('thead', {}, h('tr', {}, [
        t('admin.name'), t('flows.plugin'), t('channels.state'), t('flows.channels'), t('plugins.actions'),
      ].map((label) => h('th', { scope: 'col', text: label })))),
      h('tbody', { id: 'flow-rows' }, rows.length ? rows : h('tr', {}, h('td', { colSpan: 5, class: 'empty', text: t('flows.none') }))))));
}

/**
 * The fields every flow has beside its plugin's settings: the shop its
 * lookups ask and the end reason it ends with.
 */
function commonFields(prefix, ctx, flow) {
  const shop = h('select', { id: `${prefix}-shop` },
    h('option', { value: '', text: t('flows.shop_first') }),
    ctx.shops.map((s) => h('option', { value: String(s.id), text: s.name, selected: flow && flow.shop_id === s.id })));
  const reason = h('select', { id: `${prefix}-reason` },
    h('option', { value: '', text: t('flows.reason_none') }),
    ctx.reasons.map((r) => h('option', { value: r, text: r, selected: flow ? flow.end_reason === r : r === ctx.reasons[0] })));
  const rows = [
    h('div', { class: 'field' }, h('label', { for: `${prefix}-shop`, text: t('flows.shop') }), shop),
    h('div', { class: 'field' }, h('label', { for: `${prefix}-reason`, text: t('flows.end_reason') }), reason),
  ];
  const read = () => ({ shop_id: shop.value ? Number(shop.value) : null, end_reason: reason.value || null });
  return { rows, read };
}

function drawCreate(ctx) {
  const usable = flowPlugins(ctx.plugins).filter((p) => p.loaded);
  if (!usable.length) {
    replace(ctx.create, h('p', { class: 'hint', id: 'flow-create-none', text: t('flows.no_plugin') }));
    return;
  }
  const plugin = h('select', { id: 'flow-plugin' }, usable.map((p) => h('option', { value: p.name, text: `${p.name} ${p.version}` })));
  const name = h('input', { id: 'flow-new-name', required: true, maxLength: 100, autocomplete: 'off' });
  const common = commonFields('flow-new', ctx, null);
  const settingsBox = h('div', { id: 'flow-settings-box' });
  const error = h('p', { class: 'form-error', role: 'alert', id: 'flow-create-error' });
  const submit = h('button', { type: 'submit', class: 'primary', id: 'flow-create-submit', text: t('flows.create_submit') });
  let settings = null;
  const pickPlugin = () => {
    settings = settingsFields('flow-new', usable.find((p) => p.name === plugin.value), null, { documents: true });
    replace(settingsBox, settings.fieldset);
  };
  plugin.addEventListener('change', pickPlugin);
  const form = h('form', {
    class: 'channel-form',
    'aria-labelledby': 'flow-create-title',
    on: {
      submit: async (event) => {
        event.preventDefault();
        error.textContent = '';
        const body = { name: name.value.trim(), plugin: plugin.value, ...common.read() };
        if (!settings.fill(body, error)) return;
        await whileBusy(submit, async () => {
          try {
            await api('POST', '/api/v1/flows', body);
            toast(t('flows.created', { name: body.name }));
            await ctx.refresh();
            drawCreate(ctx);
          } catch (e) {
            error.textContent = errorText(e);
          }
        });
      },
    },
  },
  h('div', { class: 'inline-form' },
    h('div', { class: 'field' }, h('label', { for: 'flow-plugin', text: t('flows.plugin') }), plugin),
    h('div', { class: 'field' }, h('label', { for: 'flow-new-name' }, t('admin.name'), h('span', { class: 'required', 'aria-hidden': 'true', text: ' *' })), name),
    common.rows),
  settingsBox,
  error,
  h('div', { class: 'buttons' }, submit));
  replace(ctx.create, form);
  pickPlugin();
}

function openEdit(ctx, f) {
  const plugin = ctx.plugins.find((p) => p.name === f.plugin && p.loaded);
  const common = commonFields('edit-flow', ctx, f);
  const settings = plugin ? settingsFields('edit-flow', plugin, f, { documents: true }) : null;
  const error = h('p', { class: 'form-error', role: 'alert', id: 'edit-flow-error' });
  const dlg = h('dialog', { id: 'flow-edit-dialog', 'aria-labelledby': 'flow-edit-title', class: 'wide-dialog' });
  const submit = h('button', { type: 'submit', class: 'primary', id: 'edit-flow-submit', text: t('admin.save') });
  dlg.append(h('form', {
    on: {
      submit: async (event) => {
        event.preventDefault();
        error.textContent = '';
        const body = common.read();
        if (settings && !settings.fill(body, error)) return;
        await whileBusy(submit, async () => {
          try {
            await api('PATCH', `/api/v1/flows/${f.id}`, body);
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
  h('h2', { id: 'flow-edit-title', text: t('flows.edit_title', { name: f.name }) }),
  common.rows,
  settings ? settings.fieldset : h('p', { class: 'hint', id: 'edit-flow-no-plugin', text: t('channels.plugin_not_loaded', { plugin: f.plugin }) }),
  error,
  h('div', { class: 'buttons' },
    submit,
    h('button', { type: 'button', id: 'edit-flow-cancel', text: t('action.cancel'), on: { click: () => dlg.close() } }))));
  dlg.addEventListener('close', () => dlg.remove());
  document.body.append(dlg);
  dlg.showModal();
  ($('edit-flow-setting-definition') || $('edit-flow-shop')).focus();
}
