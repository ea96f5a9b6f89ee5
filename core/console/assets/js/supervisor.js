// The supervisor screen: the live queue with waiting times, every agent's
// presence and load (presence can be set here), and links to any
// conversation (reassign is in the conversation view). Redrawn on live
// events (app.js) and every 30 s; waiting times count up in between.

import { h, replace, keepFocus } from './dom.js';
import { t, formatDuration, channelName } from './i18n.js';
import { api } from './api.js';
import { fail, link, toast } from './state.js';
import { whileShown } from './plugins.js';
import { channelIcon } from './inbox.js';

const PRESENCES = ['online', 'break', 'offline'];
/** How often the whole desk is asked again (events redraw it sooner). */
const RELOAD_MS = 30000;

export async function renderSupervisor(root) {
  let desk;
  try {
    desk = await api('GET', '/api/v1/supervisor/desk');
  } catch (e) { fail(e); return; }
  const fetchedAt = Date.now();
  const waited = (secs) => formatDuration(Math.round(secs + (Date.now() - fetchedAt) / 1000));
  const queueRows = desk.queue.map((c) => h('tr', { dataset: { conversation: c.id } },
    h('td', {}, link(`/conversations/${c.id}`, { id: `sup-conv-${c.id}`, text: c.contact.name || c.contact.external_id })),
    h('td', {}, channelIcon(c.channel_kind), channelName(c)),
    h('td', { class: 'num waiting-cell', dataset: { secs: c.waiting_secs }, text: waited(c.waiting_secs) }),
    h('td', { class: 'preview', text: c.preview })));
  const agentRows = desk.agents.map((a) => {
    const select = h('select', {
      id: `sup-presence-${a.user_id}`,
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
  const queue = h('table', { 'aria-labelledby': 'sup-queue', id: 'sup-queue-table' },
    h('thead', {}, h('tr', {}, [t('sup.contact'), t('sup.channel'), t('sup.waiting'), ''].map((c) => h('th', { scope: 'col', text: c })))),
    h('tbody', {}, queueRows.length ? queueRows : h('tr', {}, h('td', { colSpan: 4, text: t('queue.empty') }))));
  // A redraw must not throw a keyboard user out of the presence select
  // or the queue's links.
  keepFocus(root, () => replace(root, h('section', { class: 'supervisor' },
    h('h1', { text: t('nav.supervisor') }),
    h('h2', { id: 'sup-queue', text: `${t('sup.queue')} (${desk.queue.length})` }),
    queue,
    h('h2', { id: 'sup-agents', text: t('sup.agents') }),
    h('table', { 'aria-labelledby': 'sup-agents' },
      h('thead', {}, h('tr', {}, [t('sup.agent'), t('sup.presence'), t('sup.load'), t('sup.conversations')].map((c) => h('th', { scope: 'col', text: c })))),
      h('tbody', {}, agentRows)))));
  // The timers stop once this drawing is replaced.
  whileShown(queue, 1000, () => {
    for (const cell of queue.querySelectorAll('.waiting-cell')) cell.textContent = waited(Number(cell.dataset.secs));
  });
  whileShown(queue, RELOAD_MS, () => renderSupervisor(root));
}
