// The history tab: every past conversation the caller may see, filtered
// (status, channel, agent, end reason, tag, contact, date range) and
// searched (`q`), paged by cursor. Opening one shows it read-only unless
// the caller holds it.

import { h, replace } from './dom.js';
import { t, formatDateTime, channelName } from './i18n.js';
import { api, query } from './api.js';
import { state, agentName, fail, link } from './state.js';
import { channelIcon } from './inbox.js';

const STATUSES = ['ended', 'open', 'assigned', 'queued', 'transfer_pending', 'in_flow'];

/** Filters kept while the console runs, so going back keeps the search. */
let filters = { status: '', channel: '', agent: '', reason: '', tag: '', contact: '', from: '', to: '', q: '' };

function field(id, label, input) {
  return h('div', { class: 'field' }, h('label', { for: id, text: label }), input);
}

/** A date input's day as RFC 3339 at the start (or end) of that local day. */
function dayBound(value, end) {
  if (!value) return '';
  const [y, m, d] = value.split('-').map(Number);
  const date = end ? new Date(y, m - 1, d + 1) : new Date(y, m - 1, d);
  return date.toISOString();
}

export function renderHistory(root) {
  const inputs = {
    q: h('input', { id: 'history-q', type: 'search', value: filters.q }),
    status: h('select', { id: 'history-status' },
      h('option', { value: '', text: t('history.any') }),
      STATUSES.map((s) => h('option', { value: s, text: s === 'open' ? t('history.open') : t(`conv.status.${s}`), selected: filters.status === s }))),
    channel: h('select', { id: 'history-channel' },
      h('option', { value: '', text: t('history.any') }),
      filters.channel ? h('option', { value: filters.channel, text: t('channel', { id: filters.channel }), selected: true }) : null),
    agent: h('select', { id: 'history-agent' },
      h('option', { value: '', text: t('history.any') }),
      state.agents.map((a) => h('option', { value: String(a.user_id), text: a.display_name, selected: filters.agent === String(a.user_id) }))),
    reason: h('select', { id: 'history-reason' },
      h('option', { value: '', text: t('history.any') }),
      (state.settings ? state.settings.end_reasons : []).map((r) => h('option', { value: r, text: r, selected: filters.reason === r }))),
    tag: h('input', { id: 'history-tag', value: filters.tag }),
    contact: h('input', { id: 'history-contact', value: filters.contact }),
    from: h('input', { id: 'history-from', type: 'date', value: filters.from }),
    to: h('input', { id: 'history-to', type: 'date', value: filters.to }),
  };
  // The channels by name (agents may not read their configuration).
  api('GET', '/api/v1/desk/channels').then(({ channels }) => {
    replace(inputs.channel,
      h('option', { value: '', text: t('history.any') }),
      channels.map((c) => h('option', { value: String(c.id), text: c.name, selected: filters.channel === String(c.id) })));
  }).catch(fail);
  const results = h('ul', { id: 'history-results', class: 'history-results', 'aria-label': t('history.results') });
  const more = h('button', { type: 'button', id: 'history-more', text: t('history.more'), hidden: true });
  let cursor = null;

  const load = async (append) => {
    const params = {
      q: filters.q,
      status: filters.status,
      channel: filters.channel,
      agent: filters.agent,
      reason: filters.reason,
      tag: filters.tag,
      contact: filters.contact,
      from: dayBound(filters.from, false),
      to: dayBound(filters.to, true),
      cursor: append ? cursor : '',
      limit: 50,
    };
    let page;
    try {
      page = await api('GET', `/api/v1/conversations${query(params)}`);
    } catch (e) { fail(e); return; }
    cursor = page.next_cursor;
    more.hidden = !cursor;
    const items = page.conversations.map(resultItem);
    if (append) results.append(...items);
    else replace(results, items.length ? items : h('li', { class: 'empty', text: t('history.none') }));
  };
  more.addEventListener('click', () => load(true));

  const form = h('form', {
    class: 'history-filters',
    role: 'search',
    'aria-label': t('history.filters'),
    on: {
      submit: (event) => {
        event.preventDefault();
        for (const [key, input] of Object.entries(inputs)) filters[key] = input.value.trim();
        load(false);
      },
    },
  },
  field('history-q', t('history.q'), inputs.q),
  field('history-status', t('history.status'), inputs.status),
  field('history-channel', t('history.channel'), inputs.channel),
  field('history-agent', t('history.agent'), inputs.agent),
  field('history-reason', t('history.reason'), inputs.reason),
  field('history-tag', t('history.tag'), inputs.tag),
  field('history-contact', t('history.contact'), inputs.contact),
  field('history-from', t('history.from'), inputs.from),
  field('history-to', t('history.to'), inputs.to),
  h('button', { type: 'submit', class: 'primary', id: 'history-search', text: t('history.search') }));

  // Two tabs over one list: all past conversations, or only the ended ones.
  const tab = (id, label, status) => h('button', {
    type: 'button',
    role: 'tab',
    id,
    'aria-selected': String(filters.status === status || (status === '' && filters.status !== 'ended')),
    on: {
      click: () => {
        filters.status = status;
        inputs.status.value = status;
        for (const other of tabs.children) other.setAttribute('aria-selected', String(other.id === id));
        load(false);
      },
    },
  }, label);
  const tabs = h('div', { role: 'tablist', class: 'tabs', 'aria-label': t('history.title') },
    tab('tab-history', t('history.all'), ''),
    tab('tab-terminated', t('history.terminated'), 'ended'));
  replace(root, h('section', { class: 'history', 'aria-labelledby': 'history-title' },
    h('h1', { id: 'history-title', text: t('history.title') }),
    tabs, form, results, more));
  load(false);
}

function resultItem(c) {
  return h('li', { class: 'history-item', dataset: { id: c.id } },
    link(`/conversations/${c.id}`, { class: 'conv-link' },
      h('span', { class: 'conv-top' },
        h('span', { class: 'contact-name', text: c.contact.name || c.contact.external_id }),
        h('span', { class: `status status-${c.status}`, text: t(`conv.status.${c.status}`) }),
        h('time', { datetime: c.last_message_at, text: formatDateTime(c.last_message_at) })),
      h('span', { class: 'preview', text: c.preview }),
      h('span', { class: 'conv-meta' },
        h('span', {}, channelIcon(c.channel_kind), channelName(c)),
        c.agent_id ? h('span', { text: agentName(c.agent_id) }) : null,
        c.end ? h('span', { class: 'end-reason', text: c.end.reason }) : null,
        c.tags.length ? h('span', { text: c.tags.join(', ') }) : null)));
}
