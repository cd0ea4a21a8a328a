// #/account: a guest turns their session into an account (email and password, or Google where
// enabled). The uid stays the same, so every comic started as a guest stays theirs. Anyone
// can delete their account here, everything in it included.

import { deleteAccount } from '../api.js';
import { linkEmail, linkGoogle, signInOptions, signOut } from '../auth.js';
import { h, whileBusy } from '../dom.js';
import { credentialsForm } from './credentials.js';

const DELETE_ACCOUNT =
  'Delete your account and everything in it?\n\n' +
  'Every comic you made (its story, panels, images, audio and costs), your usage records ' +
  'and your sign-in are removed for good. This cannot be undone.\n\n' +
  'Links to images or audio you already shared stop working within 15 minutes.';

/** "Delete my account": a confirmation naming what goes, then DELETE /me and sign-out. */
function deleteAccountSection(config) {
  const error = h('p', { class: 'field-error', role: 'alert' });
  const button = h(
    'button',
    { type: 'button', id: 'delete-account', class: 'button button--danger' },
    'Delete my account',
  );
  button.addEventListener('click', async () => {
    if (!window.confirm(DELETE_ACCOUNT)) return;
    error.textContent = '';
    const deleted = async () => {
      await deleteAccount(config);
      window.location.hash = '#/';
      await signOut();
    };
    await whileBusy(button, 'Deleting…', deleted, (failure) => {
      error.textContent = `Your account was not deleted: ${failure.message}`;
    });
  });
  return h(
    'section',
    { class: 'danger-zone', 'aria-labelledby': 'delete-account-title' },
    h('h2', { id: 'delete-account-title' }, 'Delete my account'),
    h('p', { class: 'muted' }, 'Removes every comic you made and your sign-in, on every device.'),
    button,
    error,
  );
}

export function mountAccount(container, { config, user }) {
  if (!user.isAnonymous) {
    container.append(
      h(
        'section',
        { id: 'account-view', class: 'card signin' },
        h('h1', {}, 'Your account'),
        h('p', {}, 'Signed in as ', h('strong', {}, user.displayName), '.'),
        h('a', { href: '#/', class: 'button button--primary' }, 'Back to my comics'),
        deleteAccountSection(config),
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
      deleteAccountSection(config),
    ),
  );
  inputs.email.focus();
  return () => {};
}
