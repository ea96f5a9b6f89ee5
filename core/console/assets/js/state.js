// What the console knows, shared by its screens, and the small services
// they all use (toasts, navigation, the sound, preferences).

import { h, $ } from './dom.js';
import { t, has, language } from './i18n.js';

export const state = {
  /** The signed-in user (UserView). */
  me: null,
  /** `GET /api/v1/inbox`. */
  inbox: null,
  /** `GET /api/v1/agents`: everyone, with presence. */
  agents: [],
  /** `GET /api/v1/desk/settings`. */
  settings: null,
  /** Whether the live socket is up. */
  liveUp: true,
};

/** Screens redraw when these fire: `inbox`, `agents`, `route`. */
export const changes = new EventTarget();
export function changed(what) { changes.dispatchEvent(new Event(what)); }

export const isSupervisor = () => state.me && (state.me.role === 'supervisor' || state.me.role === 'admin');

export function agentName(id) {
  if (id === null || id === undefined) return '—';
  const agent = state.agents.find((a) => a.user_id === id);
  return agent ? agent.display_name : `#${id}`;
}

/** Shows a short message in the polite live region. */
export function toast(message, kind = 'info') {
  const box = $('toast');
  const item = h('div', { class: `toast ${kind}`, text: message });
  box.append(item);
  // Never more than three at once: they must not cover the work.
  while (box.children.length > 3) box.firstElementChild.remove();
  setTimeout(() => item.remove(), kind === 'error' ? 8000 : 4000);
}

/** Shows an API error as a toast. */
export function fail(error) {
  toast(errorText(error), 'error');
}

/** Codes whose server message carries a detail worth showing (a field, a
 * name, a limit) after the translated text. */
const DETAILED = new Set(['not_found', 'invalid_request', 'conflict', 'wrong_state', 'payload_too_large', 'unsupported_media_type', 'shop_unavailable', 'flow_invalid', 'flow_in_use']);

/**
 * What to tell the user about a failed request. The server's messages are
 * English and precise; in another language a known code is said in that
 * language (with the server's detail after it where the message carries
 * one), and an unknown code falls back to the server's words.
 */
export function errorText(error) {
  if (error.code === 'network') return t('error.network');
  const key = `error.code.${error.code}`;
  if (language() === 'en' || !has(key)) return error.message;
  return DETAILED.has(error.code) && error.message ? `${t(key)}: ${error.message}` : t(key);
}

/** Preferences kept in localStorage. */
export const prefs = {
  get(name, fallback) {
    const v = localStorage.getItem(`omnigate.${name}`);
    return v === null ? fallback : v === 'true';
  },
  set(name, value) { localStorage.setItem(`omnigate.${name}`, String(value)); },
};

let audio = null;
let lastChime = 0;
/** A short two-note chime through Web Audio (no file to load), if enabled;
 * at most one every two seconds, however many events arrive. */
export function chime() {
  if (!prefs.get('sound', true) || Date.now() - lastChime < 2000) return;
  lastChime = Date.now();
  try {
    audio = audio || new AudioContext();
    const now = audio.currentTime;
    for (const [i, freq] of [880, 1320].entries()) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, now + i * 0.12);
      gain.gain.exponentialRampToValueAtTime(0.2, now + i * 0.12 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.12 + 0.25);
      osc.connect(gain).connect(audio.destination);
      osc.start(now + i * 0.12);
      osc.stop(now + i * 0.12 + 0.3);
    }
  } catch {
    // No audio device: the title badge still tells.
  }
}

let navigateImpl = () => {};
export function setNavigator(fn) { navigateImpl = fn; }
/** Goes to a console path without reloading. */
export function navigate(path) { navigateImpl(path); }

/** A link that navigates inside the console. */
export function link(path, attrs, ...children) {
  return h('a', {
    ...attrs,
    href: path,
    on: {
      click: (event) => {
        if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey) return;
        event.preventDefault();
        navigate(path);
      },
    },
  }, ...children);
}

/** Seconds between now and an RFC 3339 time (positive when it is past). */
export function secondsSince(iso) {
  return (Date.now() - new Date(iso).getTime()) / 1000;
}
