// The supervisor screen: the live queue with waiting times, every agent's
// presence and load (presence can be set here), and links to any
// conversation (reassign is in the conversation view).

import { h, replace } from './dom.js';
import { t, formatDuration, channelName } from './i18n.js';
import { api } from './api.js';
import { fail, link, toast } from './state.js';

const PRESENCES = ['online', 'break', 'offline'];

export async function renderSupervisor(root) {
  let desk;
  try {
    desk = await api('GET', '/api/v1/supervisor/desk');
  } catch (e) { fail(e); return; }
  const queueRows = desk.queue.map((c) => h('tr', {},
    h('td', {}, link(`/conversations/${c.id}`, { text: c.contact.name || c.contact.external_id })),
    h('td', { text: channelName(c) }),
    h('td', { class: 'num', text: formatDuration(c.waiting_secs) }),
    h('td', { class: 'preview', text: c.preview })));
  const agentRows = desk.agents.map((a) => {
    const select = h('select', {
      'aria-label': t('sup.set_presence', { name: a.display_name }),
      class: `presence-select presence-${a.presence}`,
      on: {
        change: async () => {
          try {
            await api('PUT', `/api/v1/agents/${a.user_id}/presence`, { presence: select.value });
            toast(`${a.display_name}: ${t(`presence.${select.value}`)}`);
            renderSupervisor(root);
          } catch (e) { fail(e); select.value = a.presence; }
        },
      },
    }, PRESENCES.map((p) => h('option', { value: p, text: t(`presence.${p}`), selected: p === a.presence })));
    return h('tr', { dataset: { agent: a.user_id } },
      h('td', { text: a.display_name }),
      h('td', {}, h('span', { class: `dot dot-${a.presence}`, 'aria-hidden': 'true' }), select),
      h('td', { class: 'num', text: `${a.load} / ${a.capacity}` }),
      h('td', {}, a.conversations.map((id) => link(`/conversations/${id}`, { class: 'chip', text: `#${id}` }))));
  });
  replace(root, h('section', { class: 'supervisor' },
    h('h1', { text: t('nav.supervisor') }),
    h('h2', { id: 'sup-queue', text: `${t('sup.queue')} (${desk.queue.length})` }),
    h('table', { 'aria-labelledby': 'sup-queue' },
      h('thead', {}, h('tr', {}, [t('sup.contact'), t('history.channel'), t('sup.waiting'), ''].map((c) => h('th', { scope: 'col', text: c })))),
      h('tbody', {}, queueRows.length ? queueRows : h('tr', {}, h('td', { colSpan: 4, text: t('queue.empty') })))),
    h('h2', { id: 'sup-agents', text: t('sup.agents') }),
    h('table', { 'aria-labelledby': 'sup-agents' },
      h('thead', {}, h('tr', {}, [t('sup.agent'), t('sup.presence'), t('sup.load'), t('sup.conversations')].map((c) => h('th', { scope: 'col', text: c })))),
      h('tbody', {}, agentRows))));
}
