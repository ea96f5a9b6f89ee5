// The console's entry point: session, header (navigation, presence,
// preferences), client-side routes, the live event stream and keyboard
// shortcuts.

import { h, replace, keepFocus, $ } from './dom.js';
import { t, LANGUAGES, language, setLanguage } from './i18n.js';
import { api, setCsrf, onSessionLost } from './api.js';
import { state, changes, changed, isSupervisor, prefs, chime, setNavigator, navigate, link, fail, errorText, toast, secondsSince } from './state.js';
import { Live } from './live.js';
import { renderLogin } from './login.js';
import { renderInbox, loadInbox, heldConversations, offeredConversations } from './inbox.js';
import { openConversation, closeConversation, currentConversationId, updateConversation, upsertMessage, focusReply, endCurrent, reloadConversation, tickConversation } from './conversation.js';
import { renderHistory } from './history.js';
import { renderSupervisor } from './supervisor.js';
import { renderAdmin } from './admin.js';

const root = $('app');
let live = null;
let route = { name: 'inbox', id: null };

function parseRoute(path) {
  const conv = /^\/conversations\/(\d+)$/.exec(path);
  if (conv) return { name: 'conversation', id: Number(conv[1]) };
  if (path === '/history') return { name: 'history', id: null };
  if (path === '/supervisor') return { name: 'supervisor', id: null };
  if (path === '/admin') return { name: 'admin', id: null };
  if (path === '/admin/channels') return { name: 'admin-channels', id: null };
  if (path === '/admin/shops') return { name: 'admin-shops', id: null };
  if (path === '/admin/plugins') return { name: 'admin-plugins', id: null };
  if (path === '/admin/flows') return { name: 'admin-flows', id: null };
  return { name: 'inbox', id: null };
}

setNavigator((path) => {
  if (location.pathname !== path) history.pushState(null, '', path);
  show(parseRoute(path));
});
window.addEventListener('popstate', () => { if (state.me) show(parseRoute(location.pathname)); });

// ---- session ----------------------------------------------------------

async function start() {
  try {
    const me = await api('GET', '/api/v1/me', undefined, { quiet401: true });
    setCsrf(me.csrf_token);
    await signedIn(me.user);
  } catch (e) {
    if (e.status === 401) showLogin();
    else replace(root, h('p', { class: 'boot', role: 'alert', text: errorText(e) }));
  }
}

/** Where to go after signing in (a deep link opened while signed out). */
let wanted = null;

function showLogin(notice) {
  if (location.pathname !== '/login' && location.pathname !== '/') wanted = location.pathname;
  if (live) live.stop();
  live = null;
  state.me = null;
  document.title = t('app.name');
  if (location.pathname !== '/login') history.replaceState(null, '', '/login');
  renderLogin(root, signedIn, notice);
}

onSessionLost(() => { if (state.me) showLogin(t('error.session')); });

async function signedIn(user) {
  state.me = user;
  const [settings, agents] = await Promise.all([
    api('GET', '/api/v1/desk/settings'),
    api('GET', '/api/v1/agents'),
    loadInbox(),
  ]);
  state.settings = settings;
  state.agents = agents.agents;
  drawShell();
  const here = location.pathname === '/login' || location.pathname === '/' ? '/inbox' : location.pathname;
  const path = wanted || here;
  wanted = null;
  history.replaceState(null, '', path);
  show(parseRoute(path));
  live = new Live({
    onEvent,
    onResync: () => {
      scheduleRefresh();
      reloadConversation();
    },
    onState: (up) => { state.liveUp = up; drawNotices(); },
    onRefused: async () => {
      try { await api('GET', '/api/v1/me'); } catch { /* a 401 signs out via onSessionLost */ }
    },
  });
  live.start();
}

async function logout() {
  try { await api('POST', '/api/v1/auth/logout'); } catch (e) { if (e.status !== 401) { fail(e); return; } }
  setCsrf(null);
  showLogin();
}

// ---- the shell --------------------------------------------------------

function presenceSwitch() {
  const current = state.inbox ? state.inbox.presence : 'offline';
  return h('div', { class: 'presence-switch', role: 'radiogroup', 'aria-label': t('presence.label'), id: 'presence' },
    ['online', 'break', 'offline'].map((p) => h('button', {
      type: 'button',
      role: 'radio',
      class: `presence presence-${p}`,
      id: `presence-${p}`,
      'aria-checked': String(p === current),
      tabIndex: p === current ? 0 : -1,
      on: {
        click: () => setPresence(p),
        keydown: (event) => {
          const order = ['online', 'break', 'offline'];
          const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
          if (!step) return;
          event.preventDefault();
          const next = order[(order.indexOf(p) + step + 3) % 3];
          setPresence(next).then(() => $(`presence-${next}`).focus());
        },
      },
    }, h('span', { class: 'dot', 'aria-hidden': 'true' }), t(`presence.${p}`))));
}

async function setPresence(presence) {
  try {
    await api('PUT', '/api/v1/me/presence', { presence });
    state.inbox.presence = presence;
    await loadInbox();
  } catch (e) { fail(e); }
}

function preferenceToggle(name, label) {
  const box = h('input', {
    type: 'checkbox',
    id: `pref-${name}`,
    checked: prefs.get(name, true),
    on: { change: () => { prefs.set(name, box.checked); updateTitle(); } },
  });
  return h('span', { class: 'pref' }, box, h('label', { for: `pref-${name}`, text: label }));
}

function drawShell() {
  const nav = h('nav', { 'aria-label': t('nav.main'), class: 'main-nav' },
    link('/inbox', { id: 'nav-inbox', text: t('nav.inbox') }),
    link('/history', { id: 'nav-history', text: t('nav.history') }),
    isSupervisor() ? link('/supervisor', { id: 'nav-supervisor', text: t('nav.supervisor') }) : null,
    state.me.role === 'admin' ? link('/admin', { id: 'nav-admin', text: t('nav.admin') }) : null);
  const lang = h('select', {
    id: 'pref-language',
    'aria-label': t('settings.language'),
    on: { change: () => { setLanguage(lang.value); drawShell(); show(route); } },
  }, Object.entries(LANGUAGES).map(([code, name]) => h('option', { value: code, text: name, selected: code === language() })));
  replace(root,
    h('a', { class: 'skip-link', href: '#main', text: t('skip') }),
    h('header', { class: 'top' },
      h('span', { class: 'brand', text: t('app.name') }),
      nav,
      h('div', { id: 'presence-slot' }),
      h('div', { class: 'prefs' },
        preferenceToggle('sound', t('settings.sound')),
        preferenceToggle('badge', t('settings.badge')),
        lang),
      h('div', { class: 'user' },
        h('span', { class: 'user-name', id: 'user-name', text: state.me.display_name }),
        h('button', { type: 'button', id: 'logout', text: t('logout'), on: { click: logout } }))),
    h('div', { id: 'notices', 'aria-live': 'polite' }),
    h('div', { id: 'main', class: 'main', tabIndex: -1 }));
  drawPresence();
  drawNotices();
}

function drawPresence() {
  const slot = $('presence-slot');
  if (slot) keepFocus(slot, () => replace(slot, presenceSwitch()));
}

function drawNotices() {
  const box = $('notices');
  if (!box) return;
  const presence = state.inbox && state.inbox.presence;
  replace(box,
    presence === 'break' ? h('p', { class: 'notice notice-break', id: 'break-notice', text: t('presence.break_notice') }) : null,
    presence === 'offline' ? h('p', { class: 'notice notice-offline', id: 'offline-notice', text: t('presence.offline_notice') }) : null,
    state.liveUp ? null : h('p', { class: 'notice notice-live', id: 'live-notice', text: t('live.offline') }));
}

function updateTitle() {
  const unread = heldConversations().reduce((sum, c) => sum + (c.unread || 0), 0) + offeredConversations().length;
  document.title = prefs.get('badge', true) && unread > 0 ? `(${unread}) ${t('app.name')}` : t('app.name');
}

// ---- routes -----------------------------------------------------------

function show(next) {
  const main = $('main');
  if (!main) return;
  // The same conversation, still drawn: keep it (and its composer) as is.
  // After a redraw of the shell (a language switch) the pane is gone.
  const sameConversation = next.name === 'conversation' && route.name === 'conversation' && route.id === next.id
    && currentConversationId() === next.id && $('pane') !== null;
  route = next;
  for (const [name, el] of [['inbox', $('nav-inbox')], ['history', $('nav-history')], ['supervisor', $('nav-supervisor')], ['admin', $('nav-admin')]]) {
    if (el) el.setAttribute('aria-current', String(name === next.name || (name === 'inbox' && next.name === 'conversation') || (name === 'admin' && next.name.startsWith('admin-'))));
  }
  if (next.name === 'history' || next.name === 'supervisor' || next.name.startsWith('admin')) {
    closeConversation();
    const section = h('div', { class: 'wide', id: `${next.name}-screen` });
    replace(main, section);
    if (next.name === 'history') renderHistory(section);
    else if (next.name === 'supervisor') renderSupervisor(section);
    else renderAdmin(section, next.name);
    return;
  }
  let sidebar = $('sidebar');
  let pane = $('pane');
  if (!sidebar || !pane) {
    sidebar = h('aside', { id: 'sidebar', class: 'sidebar', 'aria-label': t('nav.inbox') });
    pane = h('section', { id: 'pane', class: 'pane', 'aria-labelledby': 'conv-title' });
    replace(main, sidebar, pane);
  }
  renderInbox(sidebar, next.id);
  if (next.name === 'conversation') {
    if (!sameConversation) openConversation(pane, next.id);
  } else {
    closeConversation();
    replace(pane, h('p', { class: 'empty pick', text: t('conv.pick') }));
  }
}

changes.addEventListener('inbox', () => {
  drawPresence();
  drawNotices();
  updateTitle();
  const sidebar = $('sidebar');
  if (sidebar) renderInbox(sidebar, route.id);
});

// ---- live events ------------------------------------------------------

let refreshTimer = null;
let supervisorTimer = null;

/** Reloads the lists soon, once for a burst of events. */
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(async () => {
    try {
      await loadInbox();
      const { agents } = await api('GET', '/api/v1/agents');
      state.agents = agents;
      if (route.name === 'conversation' && currentConversationId() === route.id) {
        const { conversation } = await api('GET', `/api/v1/conversations/${route.id}`);
        updateConversation(conversation);
      }
    } catch {
      // The next event or reconnect tries again; a lost session signs out.
    }
  }, 150);
  if (route.name === 'supervisor') {
    clearTimeout(supervisorTimer);
    supervisorTimer = setTimeout(() => {
      const section = $('supervisor-screen');
      if (section && route.name === 'supervisor') renderSupervisor(section);
    }, 300);
  }
}

function onEvent(event) {
  const data = event.data || {};
  const conv = data.conversation || (data.id !== undefined && data.status ? data : null);
  const me = state.me.id;
  if (conv) updateConversation(conv);
  switch (event.type) {
    case 'message': {
      upsertMessage(data.message);
      const inbound = data.message && data.message.direction === 'inbound';
      const elsewhere = currentConversationId() !== conv.id || document.visibilityState !== 'visible';
      if (inbound && conv.agent_id === me && elsewhere) chime();
      break;
    }
    case 'conversation.assigned':
      if (conv.agent_id === me && data.how !== 'pulled' && data.how !== 'reopened') { chime(); toast(t('notify.assigned')); }
      break;
    case 'transfer.requested':
      // Events carry a summary of the conversation (no transfer details):
      // the inbox says whether the offer is to me.
      loadInbox().then(() => {
        if (offeredConversations().some((c) => c.id === conv.id)) { chime(); toast(t('notify.transfer')); }
      }).catch(() => {});
      break;
    case 'window.closing':
      if (conv.agent_id === me) {
        const known = state.inbox && state.inbox.conversations.find((c) => c.id === conv.id);
        toast(t('notify.window_closing', { name: known ? known.contact.name || known.contact.external_id : `#${conv.id}` }));
      }
      break;
    case 'transfer.returned':
      if (conv.agent_id === me) toast(t('notify.returned'));
      break;
    case 'presence':
      if (data.user_id === me && state.inbox) { state.inbox.presence = data.presence; changed('inbox'); }
      break;
    case 'plugin':
      // An install, upgrade, enable, disable, removal or breaker trip: the
      // admin pages re-read what they show.
      changed('plugins');
      break;
    case 'queue':
      if (state.inbox) {
        state.inbox.queue = { length: data.length, oldest_waiting_secs: data.oldest_since ? secondsSince(data.oldest_since) : null };
        changed('inbox');
      }
      break;
    default:
      break;
  }
  scheduleRefresh();
}

// Countdowns and waiting times move on their own.
setInterval(() => {
  if (state.me && state.inbox) changed('inbox');
  tickConversation();
}, 30000);

// ---- keyboard ---------------------------------------------------------

document.addEventListener('keydown', (event) => {
  if (!state.me || !event.altKey || event.ctrlKey || event.metaKey) return;
  const key = event.key.toLowerCase();
  if (key === 'n') {
    event.preventDefault();
    const list = heldConversations();
    if (!list.length) return;
    const withUnread = list.find((c) => c.unread && c.id !== route.id);
    const at = list.findIndex((c) => c.id === route.id);
    const next = withUnread || list[(at + 1) % list.length];
    navigate(`/conversations/${next.id}`);
    setTimeout(focusReply, 300);
  } else if (key === 'r') {
    event.preventDefault();
    focusReply();
  } else if (key === 'e') {
    event.preventDefault();
    endCurrent();
  }
});

document.addEventListener('visibilitychange', () => { if (state.me && document.visibilityState === 'visible') scheduleRefresh(); });

start();
