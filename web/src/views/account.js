// #/account: a guest turns their session into an account (email and password, or Google where
// enabled). The uid stays the same, so every comic started as a guest stays theirs.

import { linkEmail, linkGoogle, signInOptions } from '../auth.js';
import { h } from '../dom.js';
import { credentialsForm } from './credentials.js';

export function mountAccount(container, { user }) {
  if (!user.isAnonymous) {
    container.append(
      h(
        'section',
        { id: 'account-view', class: 'card signin' },
        h('h1', {}, 'Your account'),
        h('p', {}, 'Signed in as ', h('strong', {}, user.displayName), '.'),
        h('a', { href: '#/', class: 'button button--primary' }, 'Back to my comics'),
      ),
    );
    return () => {};
  }
  const { form, inputs } = credentialsForm({
    id: 'link-form',
    fields: ['email', 'password'],
    newPassword: true,
    submitLabel: 'Save my account',
    onSubmit: async (values) => {
      await linkEmail(values.email, values.password);
      window.location.hash = '#/';
    },
  });
  const googleError = h('p', { class: 'field-error', role: 'alert' });
  let google = null;
  if (signInOptions().google) {
    google = h(
      'button',
      { type: 'button', id: 'google-link', class: 'button button--wide' },
      h('span', { class: 'google-mark', 'aria-hidden': 'true' }, 'G'),
      'Use my Google account',
    );
    google.addEventListener('click', async () => {
      googleError.textContent = '';
      google.disabled = true;
      try {
        await linkGoogle();
        window.location.hash = '#/';
      } catch (error) {
        googleError.textContent = error.message;
      } finally {
        google.disabled = false;
      }
    });
  }
  container.append(
    h(
      'section',
      { id: 'account-view', class: 'card signin', 'aria-labelledby': 'account-title' },
      h('h1', { id: 'account-title' }, 'Keep your comics'),
      h(
        'p',
        { class: 'muted' },
        'You are signed in as a guest. Add an email and a password to keep your comics and ' +
          'open them on other devices: nothing you made is lost.',
      ),
      form,
      google ? [h('p', { class: 'divider' }, h('span', {}, 'or')), google, googleError] : null,
      h('p', {}, h('a', { href: '#/', class: 'back' }, '← Not now')),
    ),
  );
  inputs.email.focus();
  return () => {};
}
