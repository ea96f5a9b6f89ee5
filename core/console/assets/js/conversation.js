// The conversation view: header with the contact, the window countdown and
// the actions; the thread (paged in the DOM, so long threads stay smooth);
// the composer with canned responses, emoji, attachments, notes and the
// template form when the service window is closed.

import { h, replace, keepFocus } from './dom.js';
import { t, formatTime, formatDateTime, formatBytes, channelName } from './i18n.js';
import { api, query, attachmentUrl } from './api.js';
import { state, agentName, fail, errorText, toast, navigate, isSupervisor } from './state.js';
import { loadInbox, windowText } from './inbox.js';
import { EMOJI } from './emoji.js';
import { drawShopPanel } from './shop_panel.js';

const PAGE = 100;

/** The open conversation, or null. */
let view = null;
/** What the agent has typed and not sent, per conversation, so switching
 * conversations (or the language) does not lose a reply half written. */
const drafts = new Map();
/** What the agent has put in a template form, per conversation (the
 * picked template and its parameters, or the name, language and
 * parameters), so a redraw keeps it as `drafts` keeps the reply. */
const templateDrafts = new Map();
/** Each conversation's template list as last fetched, and when: a redraw
 * within a minute builds the form from it at once, without asking the
 * server or losing the field that had the focus. */
const templateLists = new Map();
const TEMPLATE_LIST_FRESH_MS = 60_000;

export function currentConversationId() { return view ? view.conv.id : null; }

/** Loads the conversation and its thread and draws them into `root`. */
export async function openConversation(root, id) {
  replace(root, h('p', { class: 'loading', text: t('conv.loading') }));
  let conv;
  const messages = [];
  try {
    ({ conversation: conv } = await api('GET', `/api/v1/conversations/${id}`));
    messages.push(...await fetchThread(id));
  } catch (e) {
    fail(e);
    replace(root, h('p', { class: 'empty', text: errorText(e) }));
    view = null;
    return;
  }
  view = { root, conv, messages, shown: Math.min(PAGE, messages.length), note: false };
  draw();
  markRead();
}

export function closeConversation() { view = null; }

/** Moves the header's service-window countdown on (called every 30 s). */
export function tickConversation() {
  const el = view && view.root.querySelector('#conv-window');
  const win = view && windowText(view.conv);
  if (el && win) el.textContent = ` · ${win}`;
}

/** Every message of a conversation, oldest first (pages of 500). */
async function fetchThread(id) {
  const messages = [];
  let after = null;
  do {
    const page = await api('GET', `/api/v1/conversations/${id}/messages${query({ after, limit: 500 })}`);
    messages.push(...page.messages);
    after = page.next_after;
  } while (after !== null && after !== undefined);
  return messages;
}

/** After missed events (`resync`): reload the open thread from the API,
 * keeping the composer (and its draft) as it is. */
export async function reloadConversation() {
  if (!view) return;
  const { id } = view.conv;
  let conv;
  let messages;
  try {
    [{ conversation: conv }, messages] = await Promise.all([api('GET', `/api/v1/conversations/${id}`), fetchThread(id)]);
  } catch {
    return;
  }
  if (!view || view.conv.id !== id) return;
  const thread = view.root.querySelector('#thread');
  const atBottom = thread.scrollHeight - thread.scrollTop - thread.clientHeight < 120;
  view.shown = Math.min(messages.length, view.shown + Math.max(0, messages.length - view.messages.length));
  view.messages = messages;
  fillThread(thread);
  if (atBottom) thread.scrollTop = thread.scrollHeight;
  updateConversation(conv);
}

function holder() {
  const c = view.conv;
  return c.agent_id === state.me.id && (c.status === 'assigned' || (c.status === 'transfer_pending' && c.transfer && c.transfer.from === state.me.id));
}

function writable() {
  return view.conv.status !== 'ended' && (holder() || isSupervisor());
}

async function markRead() {
  if (!view || !view.conv.unread || document.visibilityState !== 'visible') return;
  try {
    await api('POST', `/api/v1/conversations/${view.conv.id}/read`);
    view.conv.unread = 0;
    await loadInbox();
  } catch {
    // Not allowed to mark it (someone else's): the count is theirs.
  }
}

/** A live event touched this conversation: take its new state. */
export function updateConversation(conv) {
  if (!view || conv.id !== view.conv.id) return;
  const before = JSON.stringify([view.conv.status, view.conv.agent_id, view.conv.window_open, view.conv.transfer, view.conv.end]);
  view.conv = { ...view.conv, ...conv };
  const after = JSON.stringify([view.conv.status, view.conv.agent_id, view.conv.window_open, view.conv.transfer, view.conv.end]);
  if (before !== after) redrawChrome();
}

const RANK = { null: 0, undefined: 0, queued: 1, sent: 2, delivered: 3, read: 4, failed: 5 };

/** A live `message` event: add or update the message. */
export function upsertMessage(message) {
  if (!view || message.conversation_id !== view.conv.id) return;
  const index = view.messages.findIndex((m) => m.id === message.id);
  const thread = view.root.querySelector('#thread');
  if (index >= 0) {
    // A send's answer and the live event of its delivery race; a status
    // only moves forward, so the later one is kept whichever comes last.
    if (RANK[view.messages[index].delivery] > RANK[message.delivery]) return;
    view.messages[index] = message;
    const old = thread && thread.querySelector(`[data-id="${message.id}"]`);
    if (old) old.replaceWith(messageItem(message));
    return;
  }
  view.messages.push(message);
  view.shown += 1;
  if (thread) {
    const nearBottom = thread.scrollHeight - thread.scrollTop - thread.clientHeight < 120;
    thread.append(messageItem(message));
    if (nearBottom || message.direction !== 'inbound') thread.scrollTop = thread.scrollHeight;
  }
  if (message.direction === 'inbound') {
    view.conv.unread = (view.conv.unread || 0) + 1;
    markRead();
  }
}

export function focusReply() {
  const box = view && view.root.querySelector('#composer-text, #template-pick, #template-name');
  if (box) box.focus();
}

export function endCurrent() {
  if (view && view.root.querySelector('#action-end')) openEndDialog();
}

// ---- drawing ----------------------------------------------------------

function draw() {
  const { root } = view;
  const thread = h('ol', { id: 'thread', class: 'thread', 'aria-label': view.conv.contact.name || view.conv.contact.external_id, tabIndex: 0 });
  const panel = h('aside', { id: 'contact-panel', class: 'contact-panel', 'aria-labelledby': 'contact-title' });
  replace(root,
    h('div', { id: 'conv-header', class: 'conv-header' }),
    h('div', { id: 'conv-banner' }),
    h('div', { class: 'conv-body' },
      h('div', { class: 'thread-column' }, thread, h('div', { id: 'composer-slot' })),
      panel));
  fillThread(thread);
  drawContactPanel(panel, view.conv);
  redrawChrome();
  thread.scrollTop = thread.scrollHeight;
}

/**
 * Puts `text` into the reply box at the cursor, on a line of its own;
 * false when there is no reply box (read-only, or only a template).
 */
function insertIntoReply(text) {
  const box = view && view.root.querySelector('#composer-text');
  if (!box) return false;
  const at = box.selectionStart ?? box.value.length;
  const end = box.selectionEnd ?? at;
  const before = box.value.slice(0, at);
  const piece = (before && !before.endsWith('\n') ? '\n' : '') + text;
  box.value = before + piece + box.value.slice(end);
  box.focus();
  box.selectionStart = box.selectionEnd = at + piece.length;
  // As if typed: the draft is remembered.
  box.dispatchEvent(new Event('input'));
  return true;
}

/** The contact's details, their orders and the shops' products, and
 * their other conversations on this channel. */
async function drawContactPanel(panel, conv) {
  const { contact } = conv;
  const past = h('ul', { class: 'past-list', id: 'contact-past' });
  const shops = h('section', { id: 'shop-panel', class: 'shop-panel', 'aria-labelledby': 'shop-orders-title' });
  replace(panel,
    h('h2', { id: 'contact-title', text: t('contact.title') }),
    h('dl', {},
      h('dt', { text: t('history.contact') }), h('dd', { text: contact.name || '—' }),
      contact.phone ? [h('dt', { text: t('conv.phone') }), h('dd', { text: contact.phone })] : null,
      h('dt', { text: t('conv.contact_id') }), h('dd', { text: contact.external_id }),
      h('dt', { text: t('contact.channel') }), h('dd', { text: channelName(conv) })),
    shops,
    h('h3', { text: t('contact.past') }),
    past);
  drawShopPanel(shops, conv, insertIntoReply);
  let page;
  try {
    page = await api('GET', `/api/v1/conversations${query({ contact: contact.external_id, channel: conv.channel_id, limit: 20 })}`);
  } catch {
    return;
  }
  const others = page.conversations.filter((c) => c.contact.id === contact.id && c.id !== conv.id);
  replace(past, others.length
    ? others.map((c) => h('li', { dataset: { id: c.id } },
      h('a', {
        href: `/conversations/${c.id}`,
        on: { click: (event) => { event.preventDefault(); navigate(`/conversations/${c.id}`); } },
      },
      h('span', { class: `status status-${c.status}`, text: t(`conv.status.${c.status}`) }), ' ',
      h('time', { datetime: c.last_message_at, text: formatDateTime(c.last_message_at) })),
      h('p', { class: 'preview', text: c.end ? `${c.end.reason} · ${c.preview}` : c.preview })))
    : h('li', { class: 'empty', text: t('contact.none') }));
}

function fillThread(thread) {
  const start = view.messages.length - view.shown;
  const items = view.messages.slice(Math.max(0, start)).map(messageItem);
  const earlier = start > 0
    ? h('li', { class: 'earlier' }, h('button', {
      type: 'button',
      text: t('conv.earlier'),
      on: {
        click: () => {
          const height = thread.scrollHeight;
          view.shown = Math.min(view.messages.length, view.shown + PAGE);
          fillThread(thread);
          thread.scrollTop = thread.scrollHeight - height;
        },
      },
    })) : null;
  replace(thread, earlier, items);
}

function redrawChrome() {
  const { root, conv } = view;
  const header = root.querySelector('#conv-header');
  const win = windowText(conv);
  replace(header,
    h('div', { class: 'who' },
      h('h2', { id: 'conv-title', text: conv.contact.name || conv.contact.external_id }),
      h('p', { class: 'contact-ids' },
        conv.contact.phone ? `${t('conv.phone')}: ${conv.contact.phone} · ` : '',
        `${t('conv.contact_id')}: ${conv.contact.external_id} · `,
        channelName(conv), ' · ',
        h('span', { class: `status status-${conv.status}`, id: 'conv-status', text: t(`conv.status.${conv.status}`) }),
        conv.agent_id ? ` · ${agentName(conv.agent_id)}` : '',
        win ? h('span', { class: `window${conv.window_open ? '' : ' closed'}`, id: 'conv-window', text: ` · ${win}` }) : null),
      tagEditor(conv)),
    h('div', { class: 'actions', role: 'toolbar', 'aria-label': conv.contact.name || '' }, actions()));
  const banner = root.querySelector('#conv-banner');
  if (conv.status === 'ended') {
    replace(banner, h('p', { class: 'banner readonly', id: 'readonly-notice', text: t('conv.readonly', { reason: conv.end ? conv.end.reason : '' }) }));
  } else if (!writable()) {
    replace(banner, h('p', { class: 'banner readonly', id: 'readonly-notice', text: t('conv.readonly_other') }));
  } else {
    replace(banner);
  }
  // A live event may redraw the composer while the agent types: the draft
  // comes back from `drafts`, the focus and caret from keepFocus.
  const slot = root.querySelector('#composer-slot');
  keepFocus(slot, () => replace(slot, writable() ? composer() : null));
}

/** The conversation's tags as removable chips and a box to add one. */
function tagEditor(conv) {
  const save = async (tags) => {
    try {
      const { conversation } = await api('PUT', `/api/v1/conversations/${conv.id}/tags`, { tags });
      view.conv.tags = conversation.tags;
      redrawChrome();
      const box = view.root.querySelector('#tag-input');
      if (box) box.focus();
    } catch (e) { fail(e); }
  };
  const input = h('input', {
    id: 'tag-input',
    class: 'tag-input',
    placeholder: t('tags.add'),
    'aria-label': t('tags.add'),
    maxLength: 50,
    on: {
      keydown: (event) => {
        if (event.key !== 'Enter') return;
        event.preventDefault();
        const tag = input.value.trim().toLowerCase();
        if (tag && !conv.tags.includes(tag)) save([...conv.tags, tag]);
      },
    },
  });
  return h('div', { class: 'tags', role: 'group', 'aria-label': t('conv.tags') },
    conv.tags.map((tag) => h('span', { class: 'tag', dataset: { tag } }, tag,
      h('button', {
        type: 'button',
        class: 'tag-remove',
        text: '×',
        'aria-label': t('tags.remove', { tag }),
        on: { click: () => save(conv.tags.filter((x) => x !== tag)) },
      }))),
    input);
}

function actions() {
  const c = view.conv;
  const list = [];
  const button = (id, label, onClick, cls) => h('button', { type: 'button', id, class: cls, text: label, on: { click: onClick } });
  if (c.status === 'assigned' && c.agent_id === state.me.id) {
    list.push(button('action-transfer', t('action.transfer'), openTransferDialog));
    list.push(button('action-queue', t('action.to_queue'), toQueue));
    list.push(button('action-flow', t('action.flow'), openFlowDialog));
  }
  if (c.status !== 'ended' && (holder() || isSupervisor())) {
    list.push(button('action-end', t('action.end'), openEndDialog, 'danger'));
  }
  if (c.status !== 'ended' && isSupervisor()) {
    list.push(button('action-reassign', t('action.reassign'), openReassignDialog));
  }
  if (c.status === 'ended' && (c.agent_id === state.me.id || isSupervisor())) {
    list.push(button('action-reopen', t('action.reopen'), reopen, 'primary'));
  }
  return list;
}

// ---- messages ---------------------------------------------------------

const TICKS = { queued: '🕓', sent: '✓', delivered: '✓✓', read: '✓✓', failed: '⚠' };

function tick(m) {
  if (m.direction !== 'outbound' || !m.delivery) return null;
  const label = m.delivery === 'failed' ? t('tick.failed', { reason: m.failure_reason || '' }) : t(`tick.${m.delivery}`);
  return h('span', { class: `tick tick-${m.delivery}`, dataset: { delivery: m.delivery }, role: 'img', 'aria-label': label, title: label, text: TICKS[m.delivery] });
}

function mediaBody(m, content) {
  const url = attachmentUrl(m.conversation_id, content.attachment);
  const name = content.filename || content.caption || t('msg.file');
  const parts = [];
  if (content.kind === 'image' || content.kind === 'sticker') {
    parts.push(h('a', { href: url, target: '_blank', rel: 'noopener', class: 'media-link' },
      h('img', { src: url, alt: content.caption || content.filename || t('msg.file'), loading: 'lazy', class: 'media-image' })));
  } else if (content.kind === 'video') {
    parts.push(h('video', { src: url, controls: true, preload: 'metadata', class: 'media-video', 'aria-label': name }));
  } else if (content.kind === 'audio') {
    parts.push(h('audio', { src: url, controls: true, preload: 'metadata', 'aria-label': name }));
  }
  parts.push(h('a', { href: url, download: content.filename || '', class: 'download', text: `📄 ${t('msg.download', { name })}${content.size_bytes ? ` (${formatBytes(content.size_bytes)})` : ''}` }));
  if (content.caption) parts.push(h('p', { class: 'caption', text: content.caption }));
  return parts;
}

function contentBody(m) {
  const c = m.content;
  if (!c) return h('p', { class: 'unreadable', text: t('msg.unreadable') });
  switch (c.type) {
    case 'text': return h('p', { class: 'text', text: c.text });
    case 'media': return h('div', { class: `media media-${c.kind}` }, mediaBody(m, c));
    case 'template': return h('div', { class: 'template' },
      h('p', { class: 'template-name', text: t('msg.template', { name: c.name, language: c.language }) }),
      (c.parameters || []).length ? h('ol', { class: 'template-params' }, c.parameters.map((p) => h('li', { text: p }))) : null);
    case 'interactive': return h('div', { class: 'interactive' },
      h('p', { class: 'text', text: c.body }),
      h('ul', { class: 'buttons-preview' }, c.buttons.map((b) => h('li', { text: b.title }))));
    case 'interactive_reply': return h('p', { class: 'text reply', text: t('msg.reply', { title: c.title }) });
    case 'location': return h('div', { class: 'location' },
      h('p', { class: 'label', text: `📍 ${t('msg.location')}${c.name ? `: ${c.name}` : ''}` }),
      c.address ? h('p', { text: c.address }) : null,
      h('a', { href: `geo:${c.latitude},${c.longitude}`, text: `${c.latitude}, ${c.longitude}` }));
    case 'contact_card': return h('div', { class: 'contact-card' },
      h('p', { class: 'label', text: `👤 ${t('msg.contact_card')}: ${c.name}` }),
      h('ul', {}, c.phones.map((p) => h('li', {}, h('a', { href: `tel:${p}`, text: p })))));
    default: return h('p', { class: 'unreadable', text: t('msg.unreadable') });
  }
}

function messageItem(m) {
  const who = m.author === 'contact' ? (view.conv.contact.name || view.conv.contact.external_id)
    : m.author === 'agent' ? agentName(m.author_user_id)
      : m.author === 'system' ? t('msg.system') : m.author;
  const kind = m.author === 'system' ? 'system' : m.direction;
  return h('li', { class: `msg msg-${kind}`, dataset: { id: m.id } },
    h('div', { class: 'bubble' },
      h('p', { class: 'msg-meta' },
        h('span', { class: 'author', text: who }),
        m.direction === 'note' && m.author !== 'system' ? h('span', { class: 'note-label', text: t('msg.note') }) : null,
        h('time', { datetime: m.at, title: formatDateTime(m.at), text: formatTime(m.at) }),
        tick(m)),
      contentBody(m),
      m.delivery === 'failed' && m.failure_reason ? h('p', { class: 'failure', text: t('tick.failed', { reason: m.failure_reason }) }) : null));
}

// ---- composer ---------------------------------------------------------

async function send(content) {
  const { message } = await api('POST', `/api/v1/conversations/${view.conv.id}/messages`, { content, note: view.note || undefined });
  upsertMessage(message);
  // The list's preview and waiting time change with a reply.
  loadInbox().catch(() => {});
}

function onSendError(e) {
  if (e.code === 'template_required') {
    view.conv.window_open = false;
    redrawChrome();
  }
  fail(e);
}

async function sendFiles(files) {
  for (const file of files) {
    toast(t('composer.uploading', { name: file.name }));
    try {
      const { attachment } = await api('POST', `/api/v1/conversations/${view.conv.id}/attachments${query({ filename: file.name })}`, file);
      await send({ type: 'media', kind: attachment.kind, attachment: attachment.sha256, filename: attachment.filename || file.name });
    } catch (e) { onSendError(e); }
  }
}

/**
 * The composer while the service window is closed: only a template goes.
 * A channel whose provider keeps a list (WhatsApp) offers its approved
 * templates to pick from, with a preview and one field per parameter; the
 * API channel (any name goes) and a list that cannot be had ask for the
 * name instead, saying why.
 */
function templateForm() {
  const banner = h('p', { class: 'banner window-closed', id: 'template-required', role: 'note', text: t('composer.template_required') });
  const form = ({ listed, templates }) => (listed && templates.length ? templatePicker(templates)
    : templateByName(listed ? t('template.none_approved') : null));
  const id = view.conv.id;
  const known = templateLists.get(id);
  if (known && Date.now() - known.at < TEMPLATE_LIST_FRESH_MS) {
    return h('div', { class: 'template-box', id: 'template-box' }, banner, form(known.answer));
  }
  const box = h('div', { class: 'template-box', id: 'template-box' }, banner,
    h('p', { class: 'loading', id: 'template-loading', text: t('template.loading') }));
  api('GET', `/api/v1/conversations/${id}/templates`)
    .then((answer) => {
      templateLists.set(id, { at: Date.now(), answer });
      if (!box.isConnected) return;
      const hadFocus = box.contains(document.activeElement);
      replace(box, banner, form(answer));
      if (hadFocus || document.activeElement === document.body) focusReply();
    })
    .catch((e) => {
      if (box.isConnected) replace(box, banner, templateByName(t('template.list_failed', { error: errorText(e) })));
    });
  return box;
}

/** Sends a template message; true when it went. */
async function sendTemplate(name, language, parameters) {
  try {
    await send({ type: 'template', name, language, parameters });
    return true;
  } catch (e) {
    fail(e);
    return false;
  }
}

/** The provider's approved templates to pick from. */
function templatePicker(templates) {
  const id = view.conv.id;
  const saved = templateDrafts.get(id);
  const pick = h('select', { id: 'template-pick', required: true },
    templates.map((tpl, i) => h('option', { value: String(i), text: `${tpl.name} · ${tpl.language}` })));
  // Kept by name and language: the list may have changed since.
  const savedAt = saved ? templates.findIndex((tpl) => tpl.name === saved.name && tpl.language === saved.language) : -1;
  if (savedAt >= 0) pick.value = String(savedAt);
  const preview = h('p', { class: 'template-preview', id: 'template-preview', 'aria-live': 'polite' });
  const params = h('div', { class: 'template-params', id: 'template-param-fields' });
  const chosen = () => templates[Number(pick.value)] || templates[0];
  const values = () => [...params.querySelectorAll('input')].map((input) => input.value);
  const remember = () => {
    const tpl = chosen();
    templateDrafts.set(id, { name: tpl.name, language: tpl.language, params: values() });
  };
  const draw = (typed = []) => {
    const tpl = chosen();
    preview.textContent = tpl.body || '';
    replace(params, Array.from({ length: tpl.parameter_count }, (_, n) => {
      const fieldId = `template-param-${n + 1}`;
      return h('div', { class: 'field' },
        h('label', { for: fieldId, text: t('template.parameter', { n: n + 1 }) }),
        h('input', { id: fieldId, required: true, maxLength: 1024, value: typed[n] || '', dataset: { param: n + 1 } }));
    }));
  };
  pick.addEventListener('change', () => { draw(); remember(); });
  params.addEventListener('input', remember);
  draw(savedAt >= 0 ? saved.params : []);
  return h('form', {
    class: 'template-form',
    id: 'template-form',
    on: {
      submit: async (event) => {
        event.preventDefault();
        const tpl = chosen();
        const parameters = values().map((value) => value.trim());
        if (await sendTemplate(tpl.name, tpl.language, parameters)) {
          templateDrafts.delete(id);
          draw();
        }
      },
    },
  },
  h('div', { class: 'field' }, h('label', { for: 'template-pick', text: t('template.pick') }), pick),
  preview,
  params,
  h('button', { type: 'submit', class: 'primary', text: t('template.send') }));
}

/** A template by name, language and parameters (`note` says why there is no list). */
function templateByName(note) {
  const id = view.conv.id;
  const saved = templateDrafts.get(id) || {};
  const name = h('input', { id: 'template-name', required: true, maxLength: 512, value: saved.name || '' });
  const language = h('input', { id: 'template-language', required: true, maxLength: 20,
    value: saved.language || (document.documentElement.lang === 'tr' ? 'tr' : 'en') });
  const params = h('textarea', { id: 'template-params', rows: 2 });
  params.value = saved.text || '';
  const remember = () => templateDrafts.set(id, { name: name.value, language: language.value, text: params.value });
  return h('form', {
    class: 'template-form',
    id: 'template-form',
    on: {
      input: remember,
      submit: async (event) => {
        event.preventDefault();
        const parameters = params.value.split('\n').map((s) => s.trim()).filter(Boolean);
        if (await sendTemplate(name.value.trim(), language.value.trim(), parameters)) {
          name.value = ''; params.value = '';
          templateDrafts.delete(id);
        }
      },
    },
  },
  note ? h('p', { class: 'hint', id: 'template-note', text: note }) : null,
  h('div', { class: 'row' },
    h('label', { for: 'template-name', text: t('template.name') }), name,
    h('label', { for: 'template-language', text: t('template.language') }), language),
  h('label', { for: 'template-params', text: t('template.parameters') }), params,
  h('button', { type: 'submit', class: 'primary', text: t('template.send') }));
}

function composer() {
  const noteToggle = h('input', {
    type: 'checkbox',
    id: 'composer-note',
    checked: view.note,
    on: { change: () => { view.note = noteToggle.checked; redrawChrome(); focusReply(); } },
  });
  const toggles = h('div', { class: 'composer-mode' }, noteToggle, h('label', { for: 'composer-note', text: t('composer.note') }));
  if (!view.conv.window_open && !view.note) {
    return h('div', { class: 'composer' }, toggles, templateForm());
  }
  const text = h('textarea', {
    id: 'composer-text',
    rows: 3,
    maxLength: 4096,
    placeholder: view.note ? t('composer.note_placeholder') : t('composer.placeholder'),
    'aria-label': view.note ? t('composer.note') : t('composer.label'),
    'aria-autocomplete': 'list',
    'aria-controls': 'canned-list',
    'aria-expanded': 'false',
  });
  const draftOf = view.conv.id;
  text.value = drafts.get(draftOf) || '';
  const remember = () => { if (text.value) drafts.set(draftOf, text.value); else drafts.delete(draftOf); };
  const cannedList = h('ul', { id: 'canned-list', role: 'listbox', class: 'canned-list', hidden: true, 'aria-label': t('composer.canned') });
  const emojiPanel = h('div', { id: 'emoji-panel', class: 'emoji-panel', hidden: true, role: 'group', 'aria-label': t('composer.emoji') },
    EMOJI.map(([emoji, name]) => h('button', {
      type: 'button',
      class: 'emoji',
      text: emoji,
      'aria-label': t(`emoji.${name}`),
      on: {
        click: () => {
          const at = text.selectionStart ?? text.value.length;
          text.value = text.value.slice(0, at) + emoji + text.value.slice(text.selectionEnd ?? at);
          text.focus();
          text.selectionStart = text.selectionEnd = at + emoji.length;
          remember();
          emojiPanel.hidden = true;
          emojiButton.setAttribute('aria-expanded', 'false');
        },
      },
    })));
  emojiPanel.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape') return;
    event.preventDefault();
    emojiPanel.hidden = true;
    emojiButton.setAttribute('aria-expanded', 'false');
    emojiButton.focus();
  });
  const emojiButton = h('button', {
    type: 'button',
    id: 'emoji-button',
    class: 'icon',
    text: '😊',
    'aria-label': t('composer.emoji'),
    'aria-expanded': 'false',
    'aria-controls': 'emoji-panel',
    on: {
      click: () => {
        emojiPanel.hidden = !emojiPanel.hidden;
        emojiButton.setAttribute('aria-expanded', String(!emojiPanel.hidden));
        if (!emojiPanel.hidden) emojiPanel.querySelector('button').focus();
      },
    },
  });
  const fileInput = h('input', {
    type: 'file',
    id: 'file-input',
    multiple: true,
    class: 'visually-hidden',
    tabIndex: -1,
    on: { change: () => { sendFiles([...fileInput.files]); fileInput.value = ''; } },
  });
  const attachButton = h('button', { type: 'button', id: 'attach-button', class: 'icon', text: '📎', 'aria-label': t('composer.attach'), on: { click: () => fileInput.click() } });

  // Canned responses: `/` + shortcut.
  let options = [];
  let active = -1;
  let lookup = 0;
  const closeCanned = () => {
    // A lookup still on its way must not open the list again.
    lookup += 1;
    cannedList.hidden = true;
    options = [];
    active = -1;
    text.setAttribute('aria-expanded', 'false');
    text.removeAttribute('aria-activedescendant');
  };
  const highlight = (i) => {
    active = i;
    [...cannedList.children].forEach((li, j) => li.setAttribute('aria-selected', String(j === i)));
    if (i >= 0 && cannedList.children[i]) text.setAttribute('aria-activedescendant', cannedList.children[i].id);
  };
  const pick = async (canned) => {
    closeCanned();
    try {
      const rendered = await api('POST', `/api/v1/canned/${canned.id}/render`, { conversation_id: view.conv.id });
      text.value = rendered.text;
      remember();
      text.focus();
    } catch (e) { fail(e); }
  };
  const showCanned = async (prefix) => {
    const mine = ++lookup;
    let list;
    try {
      ({ canned: list } = await api('GET', `/api/v1/canned${query({ prefix })}`));
    } catch (e) { fail(e); return; }
    if (mine !== lookup) return;
    options = list;
    replace(cannedList, list.length
      ? list.map((c, i) => h('li', {
        id: `canned-${c.id}`,
        role: 'option',
        class: 'canned-option',
        'aria-selected': 'false',
        on: { mousedown: (event) => { event.preventDefault(); pick(c); } },
      }, h('strong', { text: `/${c.shortcut}` }), ' ', h('span', { text: c.text })))
      : h('li', { class: 'canned-none', role: 'option', 'aria-disabled': 'true', text: t('composer.no_canned', { prefix }) }));
    cannedList.hidden = false;
    text.setAttribute('aria-expanded', 'true');
    highlight(list.length ? 0 : -1);
  };

  const submit = async () => {
    const body = text.value.trim();
    if (!body) return;
    try {
      await send({ type: 'text', text: body });
      text.value = '';
      remember();
    } catch (e) { onSendError(e); }
  };
  text.addEventListener('input', () => {
    remember();
    const match = /^\/(\S*)$/.exec(text.value);
    if (match) showCanned(match[1]); else closeCanned();
  });
  text.addEventListener('keydown', (event) => {
    if (!cannedList.hidden && options.length) {
      if (event.key === 'ArrowDown') { event.preventDefault(); highlight((active + 1) % options.length); return; }
      if (event.key === 'ArrowUp') { event.preventDefault(); highlight((active - 1 + options.length) % options.length); return; }
      if ((event.key === 'Enter' || event.key === 'Tab') && active >= 0) { event.preventDefault(); pick(options[active]); return; }
    }
    if (event.key === 'Escape' && !cannedList.hidden) { event.preventDefault(); closeCanned(); return; }
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) { event.preventDefault(); submit(); }
  });
  text.addEventListener('paste', (event) => {
    const files = [...(event.clipboardData ? event.clipboardData.files : [])];
    if (files.length) { event.preventDefault(); sendFiles(files); }
  });

  const box = h('form', {
    class: `composer${view.note ? ' note-mode' : ''}`,
    id: 'composer',
    on: { submit: (event) => { event.preventDefault(); submit(); } },
  },
  toggles,
  h('div', { class: 'composer-row' },
    h('div', { class: 'composer-text' }, cannedList, text),
    h('div', { class: 'composer-tools' },
      emojiButton, attachButton, fileInput,
      h('button', { type: 'submit', class: 'primary', id: 'send-button', text: t('composer.send') }))),
  emojiPanel,
  h('p', { class: 'hint', text: t('shortcuts') }));
  enableDrop();
  return box;
}

// A file dropped anywhere but on a writable conversation must not make the
// browser open it in place of the console (losing the agent's screen).
const hasFiles = (event) => event.dataTransfer && [...event.dataTransfer.types].includes('Files');
window.addEventListener('dragover', (event) => {
  if (event.defaultPrevented || !hasFiles(event)) return;
  event.preventDefault();
  event.dataTransfer.dropEffect = 'none';
});
window.addEventListener('drop', (event) => {
  if (hasFiles(event)) event.preventDefault();
});

function enableDrop() {
  const pane = view.root;
  if (pane.dataset.dropReady) return;
  pane.dataset.dropReady = 'true';
  pane.addEventListener('dragover', (event) => {
    if (!view || !writable() || !event.dataTransfer || ![...event.dataTransfer.types].includes('Files')) return;
    event.preventDefault();
    pane.classList.add('dropping');
  });
  pane.addEventListener('dragleave', () => pane.classList.remove('dropping'));
  pane.addEventListener('drop', (event) => {
    pane.classList.remove('dropping');
    if (!view || !writable() || !event.dataTransfer || !event.dataTransfer.files.length) return;
    event.preventDefault();
    sendFiles([...event.dataTransfer.files]);
  });
}

// ---- actions ----------------------------------------------------------

function dialog(id, title, fields, submitLabel, onSubmit) {
  const error = h('p', { class: 'form-error', role: 'alert' });
  const dlg = h('dialog', { id, 'aria-labelledby': `${id}-title` });
  const form = h('form', {
    on: {
      submit: async (event) => {
        event.preventDefault();
        error.textContent = '';
        try {
          await onSubmit();
          dlg.close();
        } catch (e) {
          error.textContent = errorText(e);
        }
      },
    },
  },
  h('h2', { id: `${id}-title`, text: title }),
  fields,
  error,
  h('div', { class: 'buttons' },
    submitLabel ? h('button', { type: 'submit', class: 'primary', id: `${id}-submit`, text: submitLabel }) : null,
    h('button', { type: 'button', text: t('action.cancel'), on: { click: () => dlg.close() } })));
  dlg.append(form);
  dlg.addEventListener('close', () => dlg.remove());
  document.body.append(dlg);
  dlg.showModal();
  return dlg;
}

async function onlineAgents() {
  const { agents } = await api('GET', '/api/v1/agents');
  state.agents = agents;
  return agents.filter((a) => a.presence === 'online' && a.user_id !== state.me.id);
}

async function openTransferDialog() {
  let agents;
  try { agents = await onlineAgents(); } catch (e) { fail(e); return; }
  const id = view.conv.id;
  if (!agents.length) {
    dialog('transfer-dialog', t('transfer.title'), h('p', { text: t('transfer.none') }), null, async () => {});
    return;
  }
  const select = h('select', { id: 'transfer-agent', required: true },
    agents.map((a) => h('option', { value: String(a.user_id), text: `${a.display_name} (${a.load}/${a.capacity})` })));
  const note = h('textarea', { id: 'transfer-note', rows: 3, maxLength: 1000 });
  dialog('transfer-dialog', t('transfer.title'), [
    h('label', { for: 'transfer-agent', text: t('transfer.agent') }), select,
    h('label', { for: 'transfer-note', text: t('transfer.note') }), note,
  ], t('transfer.submit'), async () => {
    const { conversation } = await api('POST', `/api/v1/conversations/${id}/transfer`, { agent_id: Number(select.value), note: note.value.trim() || null });
    toast(t('transfer.sent'));
    updateConversation(conversation);
    await loadInbox();
  });
}

async function openReassignDialog() {
  let agents;
  try {
    const { agents: all } = await api('GET', '/api/v1/agents');
    state.agents = all;
    agents = all.filter((a) => a.presence === 'online' && a.user_id !== view.conv.agent_id);
  } catch (e) { fail(e); return; }
  const id = view.conv.id;
  if (!agents.length) {
    dialog('reassign-dialog', t('reassign.title'), h('p', { text: t('transfer.none') }), null, async () => {});
    return;
  }
  const select = h('select', { id: 'reassign-agent', required: true },
    agents.map((a) => h('option', { value: String(a.user_id), text: `${a.display_name} (${a.load}/${a.capacity})` })));
  dialog('reassign-dialog', t('reassign.title'), [h('label', { for: 'reassign-agent', text: t('transfer.agent') }), select], t('action.reassign'), async () => {
    const { conversation } = await api('POST', `/api/v1/conversations/${id}/reassign`, { agent_id: Number(select.value) });
    toast(t('done.reassigned'));
    updateConversation(conversation);
  });
}

function openEndDialog() {
  const id = view.conv.id;
  const reasons = state.settings ? state.settings.end_reasons : [];
  const select = h('select', { id: 'end-reason', required: true },
    reasons.map((r) => h('option', { value: r, text: r })));
  dialog('end-dialog', t('end.title'), [h('label', { for: 'end-reason', text: t('end.reason') }), select], t('end.submit'), async () => {
    const { conversation } = await api('POST', `/api/v1/conversations/${id}/end`, { reason: select.value });
    toast(t('done.ended'));
    updateConversation(conversation);
    await loadInbox();
  });
}

async function openFlowDialog() {
  const id = view.conv.id;
  let flows;
  try {
    ({ flows } = await api('GET', '/api/v1/flows'));
  } catch (e) { fail(e); return; }
  const usable = flows.filter((f) => !f.disabled);
  if (!usable.length) {
    dialog('flow-dialog', t('flow.title'), [h('p', { id: 'flow-none', class: 'hint', text: t('flow.none') })], null, async () => {});
    return;
  }
  const pick = h('select', { id: 'flow-name', required: true },
    usable.map((f) => h('option', { value: f.name, text: f.name })));
  dialog('flow-dialog', t('flow.title'), [
    h('p', { class: 'hint', id: 'flow-hint', text: t('flow.hint') }),
    h('label', { for: 'flow-name', text: t('flow.name') }), pick,
  ], t('flow.submit'), async () => {
    await api('POST', `/api/v1/conversations/${id}/transfer-to-flow`, { flow: pick.value });
    toast(t('done.flow'));
    await loadInbox();
    navigate('/inbox');
  });
  pick.focus();
}

async function toQueue() {
  try {
    await api('POST', `/api/v1/conversations/${view.conv.id}/transfer-to-queue`);
    toast(t('done.queued'));
    await loadInbox();
    navigate('/inbox');
  } catch (e) { fail(e); }
}

async function reopen() {
  try {
    const { conversation } = await api('POST', `/api/v1/conversations/${view.conv.id}/reopen`);
    toast(t('done.reopened'));
    updateConversation(conversation);
    await loadInbox();
  } catch (e) { fail(e); }
}
