// Admin → Plugins: the installed WASM plugins with their state and call
// counters; enable, disable, remove (confirmed); install or upgrade from a
// .wasm file with an optional signature file.

import { h, replace, keepFocus } from './dom.js';
import { t, formatDateTime } from './i18n.js';
import { api } from './api.js';
import { fail, errorText, toast, changes } from './state.js';

/** `GET /api/v1/plugins`: the list; when it fails, [] with a toast, or
 * null when `quiet` (a background re-read keeps what is shown). */
export async function loadPlugins(quiet = false) {
  try {
    const { plugins } = await api('GET', '/api/v1/plugins');
    return plugins;
  } catch (e) {
    // A server without the plugin host has no plugins to show.
    if (e.code === 'plugins_unavailable') return [];
    if (quiet) return null;
    fail(e);
    return [];
  }
}

/** A plugin's state as a short code: loaded, disabled, tripped, failed, stopped. */
export function pluginState(p) {
  if (p.load_error) return 'failed';
  if (p.tripped) return 'tripped';
  if (!p.enabled) return 'disabled';
  return p.loaded ? 'loaded' : 'stopped';
}

/** A plugin kind (channel, flow, commerce) in the UI language. */
export function kindName(kind) {
  const key = `plugins.kind.${kind}`;
  const name = t(key);
  return name === key ? kind : name;
}

/** The state as a labelled badge (with the load error when it failed). */
export function pluginStateBadge(p) {
  const code = pluginState(p);
  return h('span', { class: `plugin-state state-${code}` },
    h('span', { class: 'state-label', text: t(`plugins.state.${code}`) }),
    code === 'failed' ? h('span', { class: 'load-error', text: p.load_error }) : null);
}

export function renderPlugins(root) {
  const table = h('div', { id: 'plugins-table' });
  const form = h('div', { id: 'plugin-install' });
  replace(root,
    h('section', { id: 'admin-plugins', 'aria-labelledby': 'admin-plugins-title' },
      h('h2', { id: 'admin-plugins-title', text: t('plugins.title') }),
      h('p', { class: 'hint', text: t('plugins.hint') }),
      table),
    h('section', { id: 'admin-plugin-install', 'aria-labelledby': 'plugin-install-title' },
      h('h2', { id: 'plugin-install-title', text: t('plugins.install') }),
      form));
  const refresh = () => drawTable(table, refresh);
  drawInstall(form, refresh);
  // A `plugin` live event tells of a trip or another admin's change at
  // once; the call counters are re-read now and then. Either way the
  // table is redrawn only when it changed.
  onPluginChange(table, () => drawTable(table, refresh, true));
  whileShown(table, POLL_MS, () => drawTable(table, refresh, true));
  return refresh();
}

/** How often the admin pages re-read plugins and channels (their call
 * counters and health; state changes arrive as live events). */
export const POLL_MS = 30000;

/** Calls `fn` on every `plugin` live event while `el` is in the page. */
export function onPluginChange(el, fn) {
  const listener = () => {
    if (!el.isConnected) { changes.removeEventListener('plugins', listener); return; }
    fn();
  };
  changes.addEventListener('plugins', listener);
}

/** Calls `fn` every `ms` while `el` is in the page and the tab visible. */
export function whileShown(el, ms, fn) {
  const timer = setInterval(() => {
    if (!el.isConnected) { clearInterval(timer); return; }
    if (document.visibilityState === 'visible') fn();
  }, ms);
}

/** What a list looked like when last drawn, to skip redrawing the same. */
const drawn = new WeakMap();

async function drawTable(box, refresh, quiet = false) {
  const plugins = await loadPlugins(quiet);
  if (!plugins) return plugins;
  const seen = JSON.stringify(plugins);
  if (quiet && drawn.get(box) === seen) return plugins;
  drawn.set(box, seen);
  const action = async (button, method, path, done) => {
    // Busy, not disabled: a disabled button would lose the keyboard focus
    // that keepFocus gives back after the redraw.
    if (button.getAttribute('aria-busy') === 'true') return;
    button.setAttribute('aria-busy', 'true');
    try {
      await api(method, path);
      if (done) toast(done);
    } catch (e) { fail(e); }
    await refresh();
  };
  const rows = plugins.map((p) => {
    const stopped = !p.enabled || p.tripped;
    const toggle = h('button', {
      type: 'button',
      class: stopped ? 'plugin-enable' : 'plugin-disable',
      id: `plugin-toggle-${p.name}`,
      text: stopped ? t('plugins.enable') : t('plugins.disable'),
      'aria-label': `${stopped ? t('plugins.enable') : t('plugins.disable')}: ${p.name}`,
      on: {
        click: () => action(toggle, 'POST', `/api/v1/plugins/${encodeURIComponent(p.name)}/${stopped ? 'enable' : 'disable'}`,
          t(stopped ? 'plugins.enabled' : 'plugins.disabled', { name: p.name })),
      },
    });
    const remove = h('button', {
      type: 'button',
      class: 'danger plugin-remove',
      id: `plugin-remove-${p.name}`,
      text: t('plugins.remove'),
      'aria-label': `${t('plugins.remove')}: ${p.name}`,
      on: { click: () => confirmRemove(p, refresh) },
    });
    const m = p.metrics;
    return h('tr', { dataset: { plugin: p.name } },
      h('td', {},
        h('span', { class: 'plugin-name', text: p.name }),
        p.description ? h('span', { class: 'plugin-description', text: p.description }) : null),
      h('td', { class: 'plugin-version', text: p.version }),
      h('td', { text: kindName(p.kind) }),
      h('td', {}, pluginStateBadge(p)),
      h('td', { class: 'plugin-signed', text: p.signed_by || t('plugins.unsigned') }),
      h('td', { class: 'num plugin-calls', text: m ? String(m.calls) : '—' }),
      h('td', { class: 'num plugin-errors', text: m ? String(m.errors) : '—' }),
      h('td', {}, h('time', { datetime: p.installed_at, text: formatDateTime(p.installed_at) })),
      h('td', { class: 'row-actions' }, toggle, remove));
  });
  keepFocus(box, () => replace(box,
    h('table', { 'aria-labelledby': 'admin-plugins-title' },
      h('thead', {}, h('tr', {}, [
        t('plugins.name'), t('plugins.version'), t('plugins.kind'), t('plugins.state'), t('plugins.signed_by'),
        t('plugins.calls'), t('plugins.errors'), t('plugins.installed_at'), t('plugins.actions'),
      ].map((c) => h('th', { scope: 'col', text: c })))),
      h('tbody', { id: 'plugin-rows' }, rows.length ? rows : h('tr', {}, h('td', { colSpan: 9, class: 'empty', text: t('plugins.none') }))))));
  return plugins;
}

/** Runs `fn` with `button` disabled (no double submit), then gives the
 * keyboard focus back to it if it had it (disabling drops the focus). */
export async function whileBusy(button, fn) {
  const focused = document.activeElement === button;
  button.disabled = true;
  try {
    return await fn();
  } finally {
    button.disabled = false;
    if (focused && button.isConnected) button.focus({ preventScroll: true });
  }
}

/** A modal asking to confirm; `onConfirm` may throw to show its message. */
export function confirmDialog(id, title, text, confirmLabel, onConfirm) {
  const error = h('p', { class: 'form-error', role: 'alert', id: `${id}-error` });
  const dlg = h('dialog', { id, 'aria-labelledby': `${id}-title`, 'aria-describedby': `${id}-text` });
  const submit = h('button', { type: 'submit', class: 'danger', id: `${id}-confirm`, text: confirmLabel });
  dlg.append(h('form', {
    on: {
      submit: async (event) => {
        event.preventDefault();
        error.textContent = '';
        await whileBusy(submit, async () => {
          try {
            await onConfirm();
            dlg.close();
          } catch (e) {
            error.textContent = errorText(e);
          }
        });
      },
    },
  },
  h('h2', { id: `${id}-title`, text: title }),
  h('p', { id: `${id}-text`, text }),
  error,
  h('div', { class: 'buttons' },
    submit,
    h('button', { type: 'button', id: `${id}-cancel`, text: t('action.cancel'), on: { click: () => dlg.close() } }))));
  const opener = document.activeElement;
  dlg.addEventListener('close', () => {
    dlg.remove();
    // The list under the dialog may have been redrawn: focus goes back to
    // the same control if it is still there, else to the page.
    if (opener && !opener.isConnected) {
      const again = opener.id && document.getElementById(opener.id);
      (again || document.getElementById('main'))?.focus({ preventScroll: true });
    }
  });
  document.body.append(dlg);
  dlg.showModal();
  return dlg;
}

function confirmRemove(p, refresh) {
  confirmDialog('plugin-remove-dialog', t('plugins.remove_title', { name: p.name }), t('plugins.remove_text'), t('plugins.remove'), async () => {
    try {
      await api('DELETE', `/api/v1/plugins/${encodeURIComponent(p.name)}`);
    } catch (e) {
      if (e.code === 'plugin_in_use') throw new Error(`${t('plugins.in_use')} (${e.message})`);
      if (e.code === 'network') throw new Error(t('error.network'));
      throw e;
    }
    toast(t('plugins.removed', { name: p.name }));
    await refresh();
  });
}

function drawInstall(box, refresh) {
  const file = h('input', { id: 'plugin-file', type: 'file', accept: '.wasm,application/wasm', required: true });
  const sig = h('input', { id: 'plugin-signature', type: 'file', accept: '.sig,text/plain' });
  const submit = h('button', { type: 'submit', class: 'primary', id: 'plugin-install-submit', text: t('plugins.install_submit') });
  const error = h('p', { class: 'form-error', role: 'alert', id: 'plugin-install-error' });
  const result = h('p', { class: 'result', role: 'status', id: 'plugin-install-result' });
  const form = h('form', {
    class: 'inline-form',
    'aria-labelledby': 'plugin-install-title',
    on: {
      submit: async (event) => {
        event.preventDefault();
        error.textContent = '';
        result.textContent = '';
        const wasm = file.files[0];
        if (!wasm) { error.textContent = t('plugins.pick_file'); file.focus(); return; }
        await whileBusy(submit, async () => {
          try {
            const signature = sig.files[0] ? (await sig.files[0].text()).trim() : '';
            const before = await loadPlugins();
            const view = await api('POST', '/api/v1/plugins', wasm, {
              contentType: 'application/wasm',
              extraHeaders: signature ? { 'X-Omnigate-Signature': signature } : {},
            });
            const old = before.find((p) => p.name === view.name);
            let message;
            if (!old) message = t('plugins.installed', { name: view.name, version: view.version });
            else if (old.version === view.version) message = t('plugins.already', { name: view.name, version: view.version });
            else message = t('plugins.upgraded', { name: view.name, from: old.version, version: view.version });
            result.textContent = message;
            form.reset();
          } catch (e) {
            error.textContent = e.code === 'network' ? t('error.network') : t('plugins.refused', { message: errorText(e) });
          }
        });
        await refresh();
      },
    },
  },
  h('div', { class: 'field' }, h('label', { for: 'plugin-file', text: t('plugins.file') }), file),
  h('div', { class: 'field' }, h('label', { for: 'plugin-signature', text: t('plugins.signature') }), sig),
  submit);
  replace(box, form, error, result);
}
