// A plugin's settings as a form, shared by the admin pages whose records
// are instances of a plugin (Admin → Channels, Shops and Flows): the
// manifest's config and secrets schema (`settings` in `GET
// /api/v1/plugins`) drawn as inputs, and which secrets are set. Secrets
// are write-only: sent, never shown back, only whether they are set.

import { h } from './dom.js';
import { t } from './i18n.js';
import { api } from './api.js';
import { fail, toast } from './state.js';
import { pluginStateBadge } from './plugins.js';

const INPUT_TYPES = { string: 'text', url: 'url', integer: 'number', boolean: 'checkbox' };

/**
 * Inputs for a plugin's `settings` schema. `current` (on edit: a channel
 * or a shop, with `config` and `secrets_set`) gives the current config
 * values and which secrets are set; on create (null), defaults are filled
 * in. With `documents`, text values are edited in text areas (a flow's
 * definition is a document, not a one-line value). Returns the fieldset
 * and `fill(body, error)`, which puts the values into a request body.
 */
export function settingsFields(prefix, plugin, current, { documents = false } = {}) {
  const inputs = plugin.settings.map((f) => {
    const id = `${prefix}-setting-${f.key}`;
    const type = f.secret ? 'password' : (INPUT_TYPES[f.type] || 'text');
    const value = current ? current.config[f.key] : f.default;
    const isSet = current && f.secret && current.secrets_set.includes(f.key);
    const attrs = {
      id,
      name: f.key,
      dataset: { key: f.key },
      // A required secret already set may stay blank on edit (kept).
      required: f.required && type !== 'checkbox' && !isSet,
      autocomplete: f.secret ? 'new-password' : 'off',
      'aria-describedby': f.secret && current ? `${id}-state` : null,
    };
    const input = documents && (type === 'text' || type === 'url')
      ? h('textarea', { ...attrs, rows: 14, spellcheck: false, class: 'code' })
      : h('input', { ...attrs, type });
    if (type === 'number') input.step = '1';
    if (type === 'checkbox') input.checked = (value ?? '') === 'true';
    else if (!f.secret || !current) input.value = value ?? '';
    const label = h('label', { for: id }, f.label,
      f.required ? h('span', { class: 'required', 'aria-hidden': 'true', text: ' *' }) : null,
      f.required ? h('span', { class: 'visually-hidden', text: ` (${t('channels.required')})` }) : null);
    const state = f.secret && current
      ? h('span', { class: `hint secret-state ${isSet ? 'secret-set' : 'secret-unset'}`, id: `${id}-state`, text: isSet ? t('channels.secret_set_keep') : t('channels.secret_unset') })
      : null;
    // A stored secret that is not required may be removed.
    const clear = isSet && !f.required ? h('input', { type: 'checkbox', id: `${id}-clear` }) : null;
    const clearRow = clear ? h('span', { class: 'secret-clear' }, clear, h('label', { for: `${id}-clear`, text: t('channels.secret_clear', { label: f.label }) })) : null;
    return { f, input, clear, row: h('div', { class: type === 'checkbox' ? 'field field-check' : 'field' }, label, input, state, clearRow) };
  });
  const fieldset = h('fieldset', { class: 'plugin-settings', id: `${prefix}-settings` },
    h('legend', { text: t('channels.settings_of', { plugin: plugin.name }) }),
    inputs.length ? inputs.map((i) => i.row) : h('p', { class: 'hint', text: t('channels.no_settings') }),
    inputs.some((i) => i.f.required) ? h('p', { class: 'hint', text: t('channels.required_hint') }) : null);
  const read = () => {
    const config = {};
    const secrets = {};
    const missing = [];
    for (const { f, input, clear } of inputs) {
      const value = input.type === 'checkbox' ? String(input.checked) : input.value.trim();
      if (f.secret) {
        // Blank keeps the stored secret (on create: none is set); an
        // empty value removes it.
        if (value) secrets[f.key] = value;
        else if (clear && clear.checked) secrets[f.key] = '';
        else if (f.required && !(current && current.secrets_set.includes(f.key))) missing.push(f.label);
      } else {
        if (!value && f.required) missing.push(f.label);
        if (value || current) config[f.key] = value;
      }
    }
    return { config, secrets, missing };
  };
  /** Puts the values into a request `body` (secrets only when some were
   * typed); false, saying which in `error`, when a required one is empty. */
  const fill = (body, error) => {
    const { config, secrets, missing } = read();
    if (missing.length) {
      error.textContent = t('channels.missing', { fields: missing.join(', ') });
      return false;
    }
    body.config = config;
    if (Object.keys(secrets).length) body.secrets = secrets;
    return true;
  };
  return { fieldset, fill };
}

/** Which secrets of `current` (a channel or a shop) are set, by the
 * plugin's labels: "App secret: set"; '—' when the plugin has none. */
export function secretsList(current, plugin) {
  const fields = plugin ? plugin.settings.filter((f) => f.secret) : [];
  const keys = fields.length ? fields.map((f) => [f.key, f.label]) : current.secrets_set.map((k) => [k, k]);
  if (!keys.length) return '—';
  return h('ul', { class: 'secret-list' }, keys.map(([key, label]) => {
    const set = current.secrets_set.includes(key);
    return h('li', { class: set ? 'secret-set' : 'secret-unset', dataset: { secret: key } },
      `${label}: `, h('strong', { text: set ? t('channels.secret_set') : t('channels.secret_unset') }));
  }));
}

/** Enabled or disabled, as a badge, for `item` (a channel, shop or flow). */
export function enabledBadge(item) {
  return h('span', { class: item.disabled ? 'badge badge-off' : 'badge badge-on', text: item.disabled ? t('channels.disabled') : t('channels.enabled') });
}

/** The health of an instance's plugin, or that the plugin is missing. */
export function pluginHealth(plugin) {
  return plugin ? pluginStateBadge(plugin) : h('span', { class: 'plugin-state state-failed', text: t('channels.plugin_missing') });
}

/**
 * The Enable / Disable button of `item` (a channel, shop or flow, with
 * `name` and `disabled`), which PATCHes `path` and then runs `refresh`.
 */
export function enableToggle(id, item, path, refresh) {
  const action = item.disabled ? t('channels.enable') : t('channels.disable');
  const toggle = h('button', {
    type: 'button',
    id,
    text: action,
    'aria-label': `${action}: ${item.name}`,
    on: {
      click: async () => {
        // Busy, not disabled, so the focus survives the redraw.
        if (toggle.getAttribute('aria-busy') === 'true') return;
        toggle.setAttribute('aria-busy', 'true');
        try {
          await api('PATCH', path, { disabled: !item.disabled });
          toast(t('admin.saved'));
        } catch (e) { fail(e); }
        await refresh();
      },
    },
  });
  return toggle;
}
