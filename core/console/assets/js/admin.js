// The admin screen: users and roles (with per-agent capacity), the desk
// settings (default capacity, transfer timeout, end reasons), shared
// canned responses, and the audit log with filters. Channels, shops and
// plugins have their own pages (channels.js, shops.js, plugins.js) under
// the same heading.

import { h, replace } from './dom.js';
import { t, formatDateTime } from './i18n.js';
import { api, query } from './api.js';
import { state, fail, toast, link } from './state.js';
import { renderChannels } from './channels.js';
import { renderPlugins } from './plugins.js';
import { renderFlows } from './flows.js';
import { renderShops } from './shops.js';

const ROLES = ['agent', 'supervisor', 'admin'];

function field(id, label, input) {
  return h('div', { class: 'field' }, h('label', { for: id, text: label }), input);
}

const PAGES = [['admin', '/admin', 'admin.general'], ['admin-channels', '/admin/channels', 'admin.channels'], ['admin-flows', '/admin/flows', 'admin.flows'], ['admin-shops', '/admin/shops', 'admin.shops'], ['admin-plugins', '/admin/plugins', 'admin.plugins']];

/** The admin pages' own navigation. */
function adminNav(current) {
  return h('nav', { class: 'sub-nav', 'aria-label': t('admin.sections') },
    PAGES.map(([name, path, label]) => link(path, { id: `${name}-link`, text: t(label), 'aria-current': String(name === current) })));
}

/** Draws the admin page `page` (`admin`, `admin-channels`, `admin-flows`, `admin-shops`, `admin-plugins`). */
export function renderAdmin(root, page = 'admin') {
  if (page !== 'admin') {
    const body = h('div', { id: `${page}-page` });
    replace(root, h('div', { class: 'admin' }, h('h1', { text: t('nav.admin') }), adminNav(page), body));
    if (page === 'admin-channels') renderChannels(body);
    else if (page === 'admin-flows') renderFlows(body);
    else if (page === 'admin-shops') renderShops(body);
    else renderPlugins(body);
    return;
  }
  const users = h('section', { id: 'admin-users', 'aria-labelledby': 'admin-users-title' });
  const desk = h('section', { id: 'admin-desk', 'aria-labelledby': 'admin-desk-title' });
  const canned = h('section', { id: 'admin-canned', 'aria-labelledby': 'admin-canned-title' });
  const audit = h('section', { id: 'admin-audit', 'aria-labelledby': 'admin-audit-title' });
  replace(root, h('div', { class: 'admin' }, h('h1', { text: t('nav.admin') }), adminNav(page), users, desk, canned, audit));
  drawUsers(users);
  drawDesk(desk);
  drawCanned(canned);
  drawAudit(audit);
}

// ---- users ------------------------------------------------------------

async function drawUsers(section) {
  let users;
  let agents;
  try {
    [{ users }, { agents }] = await Promise.all([api('GET', '/api/v1/users'), api('GET', '/api/v1/agents')]);
  } catch (e) { fail(e); return; }
  const capacityOf = (id) => (agents.find((a) => a.user_id === id) || {}).capacity;
  const rows = users.map((u) => {
    const role = h('select', {
      'aria-label': `${t('admin.role')}: ${u.email}`,
      on: {
        change: async () => {
          try {
            await api('PATCH', `/api/v1/users/${u.id}`, { role: role.value });
            toast(t('admin.saved'));
          } catch (e) { fail(e); role.value = u.role; }
        },
      },
    }, ROLES.map((r) => h('option', { value: r, text: t(`role.${r}`), selected: r === u.role })));
    const enabled = h('input', {
      type: 'checkbox',
      checked: !u.disabled,
      'aria-label': `${t('admin.enabled')}: ${u.email}`,
      on: {
        change: async () => {
          try {
            await api('PATCH', `/api/v1/users/${u.id}`, { disabled: !enabled.checked });
            toast(t('admin.saved'));
          } catch (e) { fail(e); enabled.checked = !u.disabled; }
        },
      },
    });
    const capacity = h('input', { type: 'number', min: 0, class: 'narrow', value: String(capacityOf(u.id) ?? ''), 'aria-label': `${t('admin.capacity')}: ${u.email}` });
    const saveCapacity = async (value) => {
      try {
        const status = await api('PUT', `/api/v1/agents/${u.id}/capacity`, { capacity: value });
        capacity.value = String(status.capacity);
        toast(t('admin.saved'));
      } catch (e) { fail(e); }
    };
    return h('tr', { dataset: { user: u.id } },
      h('td', { text: u.display_name }),
      h('td', { text: u.email }),
      h('td', {}, role),
      h('td', {}, enabled),
      h('td', {},
        capacity,
        h('button', { type: 'button', text: t('admin.set'), 'aria-label': `${t('admin.set')} ${t('admin.capacity')}: ${u.email}`, on: { click: () => saveCapacity(Number(capacity.value)) } }),
        h('button', { type: 'button', text: t('admin.default'), 'aria-label': `${t('admin.default')} ${t('admin.capacity')}: ${u.email}`, on: { click: () => saveCapacity(null) } })));
  });

  const email = h('input', { id: 'new-user-email', type: 'email', required: true });
  const name = h('input', { id: 'new-user-name', required: true });
  const role = h('select', { id: 'new-user-role' }, ROLES.map((r) => h('option', { value: r, text: t(`role.${r}`) })));
  const password = h('input', { id: 'new-user-password', type: 'password', autocomplete: 'new-password' });
  const created = h('p', { id: 'new-user-result', role: 'status' });
  const form = h('form', {
    class: 'inline-form',
    on: {
      submit: async (event) => {
        event.preventDefault();
        try {
          const answer = await api('POST', '/api/v1/users', {
            email: email.value.trim(), display_name: name.value.trim(), role: role.value, password: password.value || null,
          });
          await drawUsers(section);
          const result = section.querySelector('#new-user-result');
          result.textContent = answer.generated_password
            ? t('admin.generated', { email: answer.user.email, password: answer.generated_password })
            : t('admin.created', { email: answer.user.email });
        } catch (e) { fail(e); }
      },
    },
  },
  field('new-user-email', t('login.email'), email),
  field('new-user-name', t('admin.name'), name),
  field('new-user-role', t('admin.role'), role),
  field('new-user-password', t('admin.password_optional'), password),
  h('button', { type: 'submit', class: 'primary', id: 'new-user-submit', text: t('admin.create_user') }));

  replace(section,
    h('h2', { id: 'admin-users-title', text: t('admin.users') }),
    h('table', { 'aria-labelledby': 'admin-users-title' },
      h('thead', {}, h('tr', {}, [t('admin.name'), t('login.email'), t('admin.role'), t('admin.enabled'), t('admin.capacity')].map((c) => h('th', { scope: 'col', text: c })))),
      h('tbody', {}, rows)),
    form, created);
}

// ---- desk settings ----------------------------------------------------

async function drawDesk(section) {
  let settings;
  try { settings = await api('GET', '/api/v1/desk/settings'); } catch (e) { fail(e); return; }
  const capacity = h('input', { id: 'desk-capacity', type: 'number', min: 0, value: String(settings.default_capacity) });
  const timeout = h('input', { id: 'desk-timeout', type: 'number', min: 0, value: String(settings.transfer_timeout_secs) });
  const reasons = h('textarea', { id: 'desk-reasons', rows: 5, value: settings.end_reasons.join('\n') });
  replace(section,
    h('h2', { id: 'admin-desk-title', text: t('admin.desk') }),
    h('form', {
      class: 'inline-form',
      on: {
        submit: async (event) => {
          event.preventDefault();
          try {
            state.settings = await api('PATCH', '/api/v1/desk/settings', {
              default_capacity: Number(capacity.value),
              transfer_timeout_secs: Number(timeout.value),
              end_reasons: reasons.value.split('\n').map((r) => r.trim()).filter(Boolean),
            });
            toast(t('admin.saved'));
          } catch (e) { fail(e); }
        },
      },
    },
    field('desk-capacity', t('admin.default_capacity'), capacity),
    field('desk-timeout', t('admin.transfer_timeout'), timeout),
    field('desk-reasons', t('admin.end_reasons'), reasons),
    h('button', { type: 'submit', class: 'primary', id: 'desk-save', text: t('admin.save') })));
}

// ---- shared canned responses -----------------------------------------

async function drawCanned(section) {
  let list;
  try { ({ canned: list } = await api('GET', '/api/v1/canned')); } catch (e) { fail(e); return; }
  const shared = list.filter((c) => c.shared);
  const rows = shared.map((c) => {
    const text = h('textarea', { rows: 2, value: c.text, 'aria-label': `${t('admin.text')}: /${c.shortcut}` });
    return h('tr', { dataset: { canned: c.id } },
      h('td', { text: `/${c.shortcut}` }),
      h('td', {}, text),
      h('td', {},
        h('button', {
          type: 'button',
          text: t('admin.save'),
          'aria-label': `${t('admin.save')}: /${c.shortcut}`,
          on: { click: async () => { try { await api('PATCH', `/api/v1/canned/${c.id}`, { text: text.value }); toast(t('admin.saved')); } catch (e) { fail(e); } } },
        }),
        h('button', {
          type: 'button',
          class: 'danger',
          text: t('admin.delete'),
          'aria-label': `${t('admin.delete')}: /${c.shortcut}`,
          on: { click: async () => { try { await api('DELETE', `/api/v1/canned/${c.id}`); drawCanned(section); } catch (e) { fail(e); } } },
        })));
  });
  const shortcut = h('input', { id: 'canned-shortcut', required: true });
  const text = h('textarea', { id: 'canned-text', rows: 2, required: true });
  replace(section,
    h('h2', { id: 'admin-canned-title', text: t('admin.canned') }),
    h('p', { class: 'hint', text: t('admin.canned_hint') }),
    h('table', { 'aria-labelledby': 'admin-canned-title' },
      h('thead', {}, h('tr', {}, [t('admin.shortcut'), t('admin.text'), ''].map((c) => h('th', { scope: 'col', text: c })))),
      h('tbody', {}, rows)),
    h('form', {
      class: 'inline-form',
      on: {
        submit: async (event) => {
          event.preventDefault();
          try {
            await api('POST', '/api/v1/canned', { shortcut: shortcut.value.trim().replace(/^\//, ''), text: text.value, shared: true });
            drawCanned(section);
          } catch (e) { fail(e); }
        },
      },
    },
    field('canned-shortcut', t('admin.shortcut'), shortcut),
    field('canned-text', t('admin.text'), text),
    h('button', { type: 'submit', class: 'primary', id: 'canned-add', text: t('admin.add') })));
}

// ---- audit log --------------------------------------------------------

function drawAudit(section) {
  const action = h('input', { id: 'audit-action', placeholder: 'user.' });
  const actor = h('input', { id: 'audit-actor' });
  const since = h('input', { id: 'audit-since', type: 'date' });
  const until = h('input', { id: 'audit-until', type: 'date' });
  const body = h('tbody', { id: 'audit-rows' });
  const more = h('button', { type: 'button', id: 'audit-more', text: t('history.more'), hidden: true });
  let before = null;
  const day = (value, end) => {
    if (!value) return '';
    const [y, m, d] = value.split('-').map(Number);
    return new Date(y, m - 1, end ? d + 1 : d).toISOString();
  };
  const load = async (append) => {
    let page;
    try {
      page = await api('GET', `/api/v1/audit${query({
        action: action.value.trim(), actor: actor.value.trim(), since: day(since.value, false), until: day(until.value, true), before: append ? before : '', limit: 100,
      })}`);
    } catch (e) { fail(e); return; }
    before = page.next_before;
    more.hidden = before === null || before === undefined;
    const rows = page.entries.map((e) => h('tr', { dataset: { seq: e.seq } },
      h('td', { class: 'num', text: String(e.seq) }),
      h('td', {}, h('time', { datetime: e.at, text: formatDateTime(e.at) })),
      h('td', { text: e.actor }),
      h('td', { class: 'audit-action', text: e.action }),
      h('td', { text: e.target ?? '' }),
      h('td', { text: e.source ?? '' }),
      h('td', { class: 'audit-detail', text: typeof e.detail === 'string' ? e.detail : JSON.stringify(e.detail) })));
    if (append) body.append(...rows); else replace(body, rows);
  };
  more.addEventListener('click', () => load(true));
  replace(section,
    h('h2', { id: 'admin-audit-title', text: t('admin.audit') }),
    h('form', {
      class: 'inline-form',
      role: 'search',
      'aria-label': t('admin.audit'),
      on: { submit: (event) => { event.preventDefault(); load(false); } },
    },
    field('audit-action', t('admin.action'), action),
    field('audit-actor', t('admin.actor'), actor),
    field('audit-since', t('history.from'), since),
    field('audit-until', t('history.to'), until),
    h('button', { type: 'submit', class: 'primary', id: 'audit-search', text: t('history.search') })),
    h('table', { 'aria-labelledby': 'admin-audit-title' },
      h('thead', {}, h('tr', {}, ['#', t('admin.time'), t('admin.actor'), t('admin.action'), t('admin.target'), t('admin.source'), t('admin.detail')].map((c) => h('th', { scope: 'col', text: c })))),
      body),
    more);
  load(false);
}
