// Sign-in: email and password (sign in, create an account, reset the password), Google where
// the deployment enables it, and "Continue as guest". The app re-renders once a user is in.

import {
  continueAsGuest,
  sendPasswordReset,
  signInOptions,
  signInWithEmail,
  signInWithGoogle,
  signUpWithEmail,
} from '../auth.js';
import { h } from '../dom.js';
import { credentialsForm } from './credentials.js';

const MODES = {
  signin: { title: 'Sign in', submit: 'Sign in', action: signInWithEmail },
  signup: { title: 'Create account', submit: 'Create account', action: signUpWithEmail },
  reset: { title: 'Reset your password', submit: 'Send reset link', action: null },
};

export function mountSignIn(container) {
  const options = signInOptions();
  const body = h('div', { class: 'signin-body' });
  let email = '';

  function show(mode) {
    const { form, inputs, extras } = credentialsForm({
      id: 'signin-form',
      fields: mode === 'reset' ? ['email'] : ['email', 'password'],
      newPassword: mode === 'signup',
      submitLabel: MODES[mode].submit,
      onSubmit: async (values) => {
        email = values.email;
        if (mode !== 'reset') return MODES[mode].action(values.email, values.password);
        await sendPasswordReset(values.email);
        const address = values.email.trim();
        return `If an account uses ${address}, a link to reset its password is on its way.`;
      },
    });
    inputs.email.value = email;
    inputs.email.addEventListener('input', () => (email = inputs.email.value));
    form.dataset.mode = mode;
    if (mode === 'signin') {
      extras.password.append(
        linkButton('forgot-password', 'Forgot your password?', () => show('reset')),
      );
    }
    body.replaceChildren(
      mode === 'reset'
        ? h(
            'div',
            { class: 'stack' },
            h('h2', {}, MODES.reset.title),
            h(
              'p',
              { class: 'muted' },
              'Enter the email address of your account: Firebase Auth sends it a link.',
            ),
            form,
            linkButton('back-to-signin', '← Back to sign in', () => show('signin')),
          )
        : h('div', { class: 'stack' }, tabs(mode), form),
    );
    (inputs.email.value ? inputs.password || inputs.email : inputs.email).focus();
  }

  function tabs(current) {
    return h(
      'div',
      { class: 'tabs', role: 'group', 'aria-label': 'Account' },
      ['signin', 'signup'].map((mode) =>
        h(
          'button',
          {
            type: 'button',
            class: 'tab',
            dataset: { mode },
            'aria-pressed': String(mode === current),
            onclick: () => mode !== current && show(mode),
          },
          MODES[mode].title,
        ),
      ),
    );
  }

  const otherError = h('p', {
    class: 'field-error',
    id: 'signin-other-error',
    role: 'alert',
    dataset: { errorFor: 'other' },
  });
  const other = async (button, action) => {
    otherError.textContent = '';
    button.disabled = true;
    try {
      await action();
    } catch (error) {
      otherError.textContent = error.message;
    } finally {
      button.disabled = false;
    }
  };
  const google = options.google
    ? h('button', { type: 'button', id: 'google-signin', class: 'button button--wide' }, [
        h('span', { class: 'google-mark', 'aria-hidden': 'true' }, 'G'),
        'Continue with Google',
      ])
    : null;
  google?.addEventListener('click', () => other(google, signInWithGoogle));
  const guest = h(
    'button',
    { type: 'button', id: 'guest-signin', class: 'button button--wide' },
    'Continue as guest',
  );
  guest.addEventListener('click', () => other(guest, continueAsGuest));

  container.append(
    h(
      'section',
      { class: 'card signin', 'aria-labelledby': 'signin-title' },
      options.emulator
        ? h(
            'p',
            { class: 'badge badge--dev', title: 'Accounts live in the local Auth emulator' },
            'Local Auth emulator',
          )
        : null,
      h('h1', { id: 'signin-title' }, 'Turn a story into a comic'),
      h(
        'p',
        { class: 'muted' },
        'Sign in to start comics and pick them up on any device, as they draw.',
      ),
      body,
      h('p', { class: 'divider' }, h('span', {}, 'or')),
      h(
        'div',
        { class: 'stack stack--tight' },
        google,
        guest,
        h(
          'p',
          { class: 'hint', id: 'guest-hint' },
          'As a guest you can start right away; add an email later to keep your comics.',
        ),
        otherError,
      ),
    ),
  );
  show('signin');
  return () => {};
}

function linkButton(id, text, onclick) {
  return h('button', { type: 'button', id, class: 'link-button', onclick }, text);
}
