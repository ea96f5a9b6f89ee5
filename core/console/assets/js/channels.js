// Admin → Channels: every channel with the URL to give its provider and,
// for plugin channels, their plugin's health; create (API channels, or a
// channel plugin's form drawn from its settings schema), edit, disable or
// enable, and rotate an API channel's token. Secrets are write-only: the
// console sends them and only ever shows whether they are set.

import { h, replace, keepFocus, $ } from './dom.js';
import { t } from './i18n.js';
import { api } from './api.js';
import { fail, errorText, toast } from './state.js';
import { loadPlugins, confirmDialog, whileShown, whileBusy, onPluginChange, POLL_MS } from './plugins.js';
import { settingsFields, secretsList, enableToggle, enabledBadge, pluginHealth } from './plugin_settings.js';

/** The URL a provider (or integrator) is given for this channel. */
export function webhookUrl(channel) {
  return `https://${location.host}${channel.inbound_url}`;
}

/** Copies `text`, saying so; falls back to selecting `input` for Ctrl+C. */
async function copy(text, input) {
  try {
    await navigator.clipboard.writeText(text);
    toast(t('channels.copied'));
  } catch {
    if (input) { input.focus(); input.select(); }
    toast(t('channels.copy_manually'));
  }
}

/** A read-only value with a Copy button. */
function copyable(id, label, value) {
  const input = h('input', { id, type: 'text', readOnly: true, value, class: 'copy-value' });
  return h('div', { class: 'field copyable' },
    h('label', { for: id, text: label }),
    h('div', { class: 'copy-row' },
      input,
      h('button', { type: 'button', id: `${id}-copy`, text: t('channels.copy'), 'aria-label': `${t('channels.copy')}: ${label}`, on: { click: () => copy(value, input) } })));
}

const channelPlugins = (plugins) => plugins.filter((p) => p.kind === 'channel');

export function renderChannels(root) {
  const list = h('div', { id: 'channels-table' });
  const once = h('div', { id: 'channel-once', 'aria-live': 'polite' });
  const create = h('div', { id: 'channel-create' });
  replace(root,
    h('section', { id: 'admin-channels', 'aria-labelledby': 'admin-channels-title' },
      h('h2', { id: 'admin-channels-title', text: t('channels.title') }),
      list),
    once,
    h('section', { id: 'admin-channel-create', 'aria-labelledby': 'channel-create-title' },
      h('h2', { id: 'channel-create-title', text: t('channels.create') }),
      create));
  const ctx = { list, once, create, plugins: [] };
  ctx.refresh = () => drawList(ctx);
  // Plugin health: at once on a `plugin` live event, and now and then.
  onPluginChange(list, () => drawList(ctx, true));
  whileShown(list, POLL_MS, () => drawList(ctx, true));
  return ctx.refresh().then(() => drawCreate(ctx));
}

// ---- the list ---------------------------------------------------------

async function drawList(ctx, quiet = false) {
  const [plugins, answer, flows] = await Promise.all([
    loadPlugins(quiet),
    api('GET', '/api/v1/channels').catch((e) => { if (!quiet) fail(e); return null; }),
    api('GET', '/api/v1/flows').catch((e) => { if (!quiet) fail(e); return null; }),
  ]);
  if (!answer || !plugins || !flows) return;
  const seen = JSON.stringify([plugins, answer, flows]);
  if (quiet && seen === ctx.seen) return;
  ctx.seen = seen;
  ctx.plugins = plugins;
  ctx.flows = flows.flows;
  const { channels } = answer;
  const rows = channels.map((c) => {
    const plugin = c.kind === 'api' ? null : plugins.find((p) => p.name === c.kind);
    const url = webhookUrl(c);
    const toggle = enableToggle(`channel-toggle-${c.id}`, c, `/api/v1/channels/${c.id}`, ctx.refresh);
    return h('tr', { dataset: { channel: c.id } },
      h('td', { class: 'channel-name', text: c.name }),
      h('td', { class: 'channel-kind', text: c.kind === 'api' ? t('channels.kind_api') : c.kind }),
      h('td', {},
        h('code', { class: 'webhook-url', text: url }),
        h('button', { type: 'button', class: 'small', id: `channel-copy-${c.id}`, text: t('channels.copy'), 'aria-label': `${t('channels.copy')}: ${t('channels.webhook_url')} ${c.name}`, on: { click: () => copy(url) } })),
      h('td', { class: 'channel-state' },
        enabledBadge(c)),
      h('td', { class: 'channel-plugin' },
        c.kind === 'api' ? '—' : pluginHealth(plugin)),
      h('td', { class: 'channel-secrets' }, secretsSummary(c, plugin)),
      h('td', { class: 'row-actions' },
        h('button', { type: 'button', id: `channel-edit-${c.id}`, text: t('channels.edit'), 'aria-label': `${t('channels.edit')}: ${c.name}`, on: { click: () => openEdit(ctx, c) } }),
        toggle,
        c.kind === 'api' ? h('button', {
          type: 'button',
          id: `channel-rotate-${c.id}`,
          text: t('channels.rotate'),
          'aria-label': `${t('channels.rotate')}: ${c.name}`,
          on: { click: () => confirmRotate(ctx, c) },
        }) : null));
  });
  keepFocus(ctx.list, () => replace(ctx.list,
    h('table', { 'aria-labelledby': 'admin-channels-title' },
      h('thead', {}, h('tr', {}, [
        t('admin.name'), t('channels.kind'), t('channels.webhook_url'), t('channels.state'), t('channels.plugin_health'), t('channels.secrets'), t('plugins.actions'),
      ].map((label) => h('th', { scope: 'col', text: label })))),
      h('tbody', { id: 'channel-rows' }, rows.length ? rows : h('tr', {}, h('td', { colSpan: 7, class: 'empty', text: t('channels.none') }))))));
}

/** Which secrets are set, by label: "App secret: set". */
function secretsSummary(c, plugin) {
  return c.kind === 'api' ? '—' : secretsList(c, plugin);
}

// ---- what is shown once -------------------------------------------------

function showOnce(ctx, title, answer) {
  const box = ctx.once;
  const done = h('button', { type: 'button', id: 'channel-once-done', text: t('channels.once_done'), on: { click: () => { replace(box); } } });
  replace(box, h('section', { class: 'once', 'aria-labelledby': 'channel-once-title' },
    h('h2', { id: 'channel-once-title', text: title }),
    h('p', { class: 'once-warning', id: 'channel-once-warning', role: 'alert', text: t('channels.once_warning') }),
    copyable('channel-once-url', t('channels.webhook_url'), webhookUrl(answer.channel)),
    copyable('channel-once-token', t('channels.inbound_token'), answer.inbound_token),
    copyable('channel-once-secret', t('channels.webhook_secret'), answer.webhook_secret),
    done));
  $('channel-once-token').focus();
}

function confirmRotate(ctx, c) {
  confirmDialog('channel-rotate-dialog', t('channels.rotate_title', { name: c.name }), t('channels.rotate_text'), t('channels.rotate'), async () => {
    const answer = await api('POST', `/api/v1/channels/${c.id}/token`);
    await ctx.refresh();
    setTimeout(() => showOnce(ctx, t('channels.rotated', { name: c.name }), answer));
  });
}

/** The default flow picker: none (the queue) or a configured flow. */
function flowPicker(id, ctx, current) {
  const select = h('select', { id },
    h('option', { value: '', text: t('channels.no_flow') }),
    (ctx.flows || []).map((f) => h('option', { value: f.name, text: f.name, selected: f.name === current })));
  return { select, row: h('div', { class: 'field' }, h('label', { for: id, text: t('channels.default_flow') }), select) };
}

// ---- create -----------------------------------------------------------

function drawCreate(ctx) {
  const usable = channelPlugins(ctx.plugins).filter((p) => p.loaded);
  const kind = h('select', { id: 'channel-kind' },
    h('option', { value: 'api', text: t('channels.kind_api') }),
    usable.map((p) => h('option', { value: p.name, text: `${p.name} ${p.version}` })));
  const name = h('input', { id: 'channel-name', required: true, maxLength: 100, autocomplete: 'off' });
  const windowSecs = h('input', { id: 'channel-window', type: 'number', min: 1, max: 2592000, step: 1 });
  const hook = h('input', { id: 'channel-webhook', type: 'url', placeholder: 'https://' });
  const hookField = h('div', { class: 'field' }, h('label', { for: 'channel-webhook', text: t('channels.outbound_url') }), hook);
  const flow = flowPicker('channel-flow', ctx, null);
  const settingsBox = h('div', { id: 'channel-settings-box' });
  const error = h('p', { class: 'form-error', role: 'alert', id: 'channel-create-error' });
  const submit = h('button', { type: 'submit', class: 'primary', id: 'channel-create-submit', text: t('channels.create_submit') });
  let settings = null;
  const pickKind = () => {
    const plugin = usable.find((p) => p.name === kind.value);
    hookField.hidden = Boolean(plugin);
    settings = plugin ? settingsFields('channel', plugin, null) : null;
    replace(settingsBox, settings ? settings.fieldset : null);
  };
  kind.addEventListener('change', pickKind);
  const form = h('form', {
    class: 'channel-form',
    'aria-labelledby': 'channel-create-title',
    on: {
      submit: async (event) => {
        event.preventDefault();
        error.textContent = '';
        const body = { name: name.value.trim(), kind: kind.value };
        if (windowSecs.value) body.service_window_secs = Number(windowSecs.value);
        if (flow.select.value) body.default_flow = flow.select.value;
        if (settings) {
          if (!settings.fill(body, error)) return;
        } else if (hook.value.trim()) {
          body.webhook_url = hook.value.trim();
        }
        await whileBusy(submit, async () => {
          try {
            const answer = await api('POST', '/api/v1/channels', body);
            form.reset();
            await ctx.refresh();
            drawCreate(ctx);
            if (answer.channel.kind === 'api') showOnce(ctx, t('channels.created', { name: answer.channel.name }), answer);
            else {
              replace(ctx.once, h('p', { class: 'result', role: 'status', id: 'channel-created', tabIndex: -1, text: t('channels.created_plugin', { name: answer.channel.name, url: webhookUrl(answer.channel) }) }));
              $('channel-created').focus();
            }
          } catch (e) {
            error.textContent = errorText(e);
          }
        });
      },
    },
  },
  h('div', { class: 'inline-form' },
    h('div', { class: 'field' }, h('label', { for: 'channel-kind', text: t('channels.kind') }), kind),
    h('div', { class: 'field' }, h('label', { for: 'channel-name' }, t('admin.name'), h('span', { class: 'required', 'aria-hidden': 'true', text: ' *' })), name),
    h('div', { class: 'field' }, h('label', { for: 'channel-window', text: t('channels.window') }), windowSecs),
    flow.row,
    hookField),
  settingsBox,
  error,
  h('div', { class: 'buttons' }, submit));
  replace(ctx.create, form);
  pickKind();
}

// ---- edit -------------------------------------------------------------

function openEdit(ctx, c) {
  const plugin = c.kind === 'api' ? null : ctx.plugins.find((p) => p.name === c.kind && p.loaded);
  const name = h('input', { id: 'edit-channel-name', required: true, maxLength: 100, value: c.name, autocomplete: 'off' });
  const windowSecs = h('input', { id: 'edit-channel-window', type: 'number', min: 1, max: 2592000, step: 1, value: c.service_window_secs ?? '' });
  const hook = h('input', { id: 'edit-channel-webhook', type: 'url', value: c.webhook_url ?? '' });
  const disabled = h('input', { id: 'edit-channel-disabled', type: 'checkbox', checked: c.disabled });
  const flow = flowPicker('edit-channel-flow', ctx, c.default_flow);
  const settings = plugin ? settingsFields('edit-channel', plugin, c) : null;
  const error = h('p', { class: 'form-error', role: 'alert', id: 'edit-channel-error' });
  const dlg = h('dialog', { id: 'channel-edit-dialog', 'aria-labelledby': 'channel-edit-title', class: 'wide-dialog' });
  const form = h('form', {
    on: {
      submit: async (event) => {
        event.preventDefault();
        error.textContent = '';
        const body = {
          name: name.value.trim(),
          service_window_secs: windowSecs.value ? Number(windowSecs.value) : null,
          default_flow: flow.select.value || null,
          disabled: disabled.checked,
        };
        if (c.kind === 'api') body.webhook_url = hook.value.trim() || null;
        if (settings && !settings.fill(body, error)) return;
        try {
          await api('PATCH', `/api/v1/channels/${c.id}`, body);
          dlg.close();
          toast(t('admin.saved'));
          await ctx.refresh();
        } catch (e) {
          error.textContent = errorText(e);
        }
      },
    },
  },
  h('h2', { id: 'channel-edit-title', text: t('channels.edit_title', { name: c.name }) }),
  h('div', { class: 'field' }, h('label', { for: 'edit-channel-name', text: t('admin.name') }), name),
  h('div', { class: 'field' }, h('label', { for: 'edit-channel-window', text: t('channels.window') }), windowSecs),
  flow.row,
  c.kind === 'api' ? h('div', { class: 'field' }, h('label', { for: 'edit-channel-webhook', text: t('channels.outbound_url') }), hook) : null,
  h('div', { class: 'field field-check' }, h('label', { for: 'edit-channel-disabled', text: t('channels.disabled') }), disabled),
  settings ? settings.fieldset : null,
  c.kind !== 'api' && !plugin ? h('p', { class: 'hint', id: 'edit-channel-no-plugin', text: t('channels.plugin_not_loaded', { plugin: c.kind }) }) : null,
  error,
  h('div', { class: 'buttons' },
    h('button', { type: 'submit', class: 'primary', id: 'edit-channel-submit', text: t('admin.save') }),
    h('button', { type: 'button', id: 'edit-channel-cancel', text: t('action.cancel'), on: { click: () => dlg.close() } })));
  dlg.append(form);
  dlg.addEventListener('close', () => dlg.remove());
  document.body.append(dlg);
  dlg.showModal();
  name.focus();
}
