// The sign-in screen, with the cookie notice.

import { h, replace } from './dom.js';
import { t } from './i18n.js';
import { api, setCsrf } from './api.js';
import { errorText } from './state.js';

/** Draws the form into `root`; calls `signedIn(user)` after a login. */
export function renderLogin(root, signedIn, notice) {
  const error = h('p', { class: 'form-error', role: 'alert', id: 'login-error' });
  if (notice) error.textContent = notice;
  const email = h('input', { id: 'login-email', type: 'email', name: 'email', autocomplete: 'username', required: true });
  const password = h('input', { id: 'login-password', type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', class: 'primary', text: t('login.submit') });
  const form = h('form', {
    class: 'login-form',
    'aria-labelledby': 'login-title',
    on: {
      submit: async (event) => {
        event.preventDefault();
        submit.disabled = true;
        error.textContent = '';
        try {
          const answer = await api('POST', '/api/v1/auth/login', { email: email.value, password: password.value }, { quiet401: true });
          setCsrf(answer.csrf_token);
          password.value = '';
          signedIn(answer.user);
        } catch (e) {
          if (e.status === 429) error.textContent = t('login.locked', { seconds: e.retryAfter || 1 });
          else if (e.status === 401) error.textContent = t('login.invalid');
          else error.textContent = errorText(e);
          password.focus();
        } finally {
          submit.disabled = false;
        }
      },
    },
  },
  h('h1', { id: 'login-title', text: t('login.title') }),
  h('label', { for: 'login-email', text: t('login.email') }), email,
  h('label', { for: 'login-password', text: t('login.password') }), password,
  error,
  submit,
  h('p', { class: 'cookie-notice', text: t('login.cookies') }));
  replace(root, h('main', { class: 'login' }, form));
  email.focus();
}
