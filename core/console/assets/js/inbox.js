// The inbox sidebar: the queue with "take next", transfers offered to me,
// and my conversations with unread counts, preview, waiting time, channel
// and the service-window countdown.

import { h, replace, keepFocus } from './dom.js';
import { t, formatDuration, formatTime, channelName } from './i18n.js';
import { api } from './api.js';
import { state, changed, agentName, fail, toast, link, navigate, secondsSince } from './state.js';

/** Conversations the caller holds (not offered to them), as listed. */
export function heldConversations() {
  if (!state.inbox) return [];
  return state.inbox.conversations.filter((c) => !(c.transfer && c.transfer.to === state.me.id));
}

export function offeredConversations() {
  if (!state.inbox) return [];
  return state.inbox.conversations.filter((c) => c.status === 'transfer_pending' && c.transfer && c.transfer.to === state.me.id);
}

export async function loadInbox() {
  state.inbox = await api('GET', '/api/v1/inbox');
  changed('inbox');
}

/** The service window as a short text, or null when the channel has none. */
export function windowText(c) {
  if (!c.window_closes_at) return c.window_open ? null : t('window.closed');
  const left = -secondsSince(c.window_closes_at);
  return c.window_open && left > 0 ? t('window.closes_in', { duration: formatDuration(left) }) : t('window.closed');
}

/** How long the contact has waited for an answer, or null. */
function waitingSecs(c) {
  if (!c.last_inbound_at || c.last_inbound_at !== c.last_message_at) return null;
  return secondsSince(c.last_inbound_at);
}

/** The icon of a channel kind: the provider's initial in its colour (the
 * channel's name is written beside it, so the icon is decoration). */
export function channelIcon(kind = '') {
  const [glyph, family] = kind.includes('whatsapp') ? ['W', 'whatsapp']
    : kind.includes('telegram') ? ['T', 'telegram']
      : kind === 'api' ? ['{}', 'api']
        : kind.includes('web') ? ['@', 'web'] : ['◎', 'other'];
  return h('span', { class: `channel-icon channel-${family}`, 'aria-hidden': 'true', text: glyph });
}

function channelBadge(c) {
  return h('span', { class: 'channel', title: channelName(c) }, channelIcon(c.channel_kind), channelName(c));
}

function conversationItem(c, currentId) {
  const wait = waitingSecs(c);
  const win = windowText(c);
  const current = c.id === currentId;
  return h('li', { class: `conv-item${current ? ' current' : ''}${c.unread ? ' has-unread' : ''}`, dataset: { id: c.id } },
    link(`/conversations/${c.id}`, { id: `conv-link-${c.id}`, class: 'conv-link', 'aria-current': current ? 'page' : undefined, dataset: { conversation: c.id } },
      h('span', { class: 'conv-top' },
        h('span', { class: 'contact-name', text: c.contact.name || c.contact.external_id }),
        c.unread ? h('span', { class: 'unread', 'aria-label': t('inbox.unread', { count: c.unread }), text: String(c.unread) }) : null,
        h('time', { class: 'when', datetime: c.last_message_at, text: formatTime(c.last_message_at) })),
      h('span', { class: 'preview', text: c.preview }),
      h('span', { class: 'conv-meta' },
        channelBadge(c),
        wait !== null ? h('span', { class: 'waiting', text: t('inbox.waiting', { duration: formatDuration(wait) }) }) : null,
        win ? h('span', { class: `window${c.window_open ? '' : ' closed'}`, text: win }) : null,
        c.status === 'transfer_pending' && c.transfer
          ? h('span', { class: 'pending', text: t('transfers.pending', { name: agentName(c.transfer.to) }) }) : null)));
}

function offerItem(c) {
  const answer = (verb) => async () => {
    try {
      await api('POST', `/api/v1/conversations/${c.id}/transfer/${verb}`);
      toast(t(verb === 'accept' ? 'done.accepted' : 'done.declined'));
      await loadInbox();
      if (verb === 'accept') navigate(`/conversations/${c.id}`);
    } catch (e) { fail(e); }
  };
  const name = c.contact.name || c.contact.external_id;
  return h('li', { class: 'offer', dataset: { id: c.id } },
    h('div', { class: 'contact-name', text: name }),
    h('div', { class: 'offer-from', text: t('transfers.from', { name: agentName(c.transfer.from) }) }),
    c.transfer.note ? h('blockquote', { class: 'offer-note', text: c.transfer.note }) : null,
    h('div', { class: 'preview', text: c.preview }),
    h('div', { class: 'buttons' },
      h('button', { type: 'button', id: `accept-${c.id}`, class: 'primary', text: t('transfers.accept'), 'aria-label': `${t('transfers.accept')}: ${name}`, on: { click: answer('accept') } }),
      h('button', { type: 'button', id: `decline-${c.id}`, text: t('transfers.decline'), 'aria-label': `${t('transfers.decline')}: ${name}`, on: { click: answer('decline') } })));
}

async function pull() {
  try {
    const { conversation } = await api('POST', '/api/v1/queue/pull');
    await loadInbox();
    navigate(`/conversations/${conversation.id}`);
  } catch (e) {
    if (e.code === 'queue_empty') toast(t('queue.empty'));
    else if (e.code === 'agent_not_online') toast(t('queue.must_be_online'), 'error');
    else fail(e);
  }
}

/** Draws the sidebar into `root`. */
export function renderInbox(root, currentId) {
  if (!state.inbox) return;
  const { queue } = state.inbox;
  const offers = offeredConversations();
  const held = heldConversations();
  keepFocus(root, () => replace(root,
    h('section', { class: 'queue-box', 'aria-labelledby': 'queue-title' },
      h('h2', { id: 'queue-title', text: t('queue.title') }),
      h('p', { class: 'queue-length', id: 'queue-length', text: t('queue.length', { count: queue.length }) }),
      queue.oldest_waiting_secs !== null && queue.oldest_waiting_secs !== undefined
        ? h('p', { class: 'queue-oldest', text: t('queue.oldest', { duration: formatDuration(queue.oldest_waiting_secs) }) }) : null,
      h('button', { type: 'button', id: 'pull', class: 'primary', text: t('queue.pull'), disabled: queue.length === 0, on: { click: pull } })),
    offers.length ? h('section', { class: 'offers', 'aria-labelledby': 'offers-title' },
      h('h2', { id: 'offers-title', text: t('transfers.title') }),
      h('ul', { class: 'offer-list' }, offers.map(offerItem))) : null,
    h('section', { class: 'mine', 'aria-labelledby': 'inbox-title' },
      h('h2', { id: 'inbox-title', text: t('inbox.title') }),
      held.length
        ? h('ul', { class: 'conv-list', id: 'conv-list' }, held.map((c) => conversationItem(c, currentId)))
        : h('p', { class: 'empty', text: t('inbox.empty') }))));
}
