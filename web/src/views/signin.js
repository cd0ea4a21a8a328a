// The local dev sign-in (auth.js "dev" mode). A real Firebase Auth build shows its own
// sign-in buttons here instead.

import { lastUid, signInAs, UID_PATTERN } from '../auth.js';
import { h } from '../dom.js';

export function mountSignIn(container) {
  const input = h('input', {
    id: 'uid',
    name: 'uid',
    autocomplete: 'username',
    spellcheck: 'false',
    required: true,
    maxlength: 128,
    placeholder: 'e.g. ada',
    'aria-describedby': 'uid-hint uid-error',
    value: lastUid(),
  });
  const error = h('p', { class: 'field-error', id: 'uid-error', role: 'alert' });
  const form = h(
    'form',
    { id: 'signin-form', class: 'stack', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'uid' }, 'Sign in as'), input, error),
    h('button', { type: 'submit', class: 'button button--primary' }, 'Sign in'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const uid = input.value.trim();
    if (!UID_PATTERN.test(uid)) {
      error.textContent = 'Use 1–128 letters, digits or _ - . : @, starting with a letter or digit';
      input.setAttribute('aria-invalid', 'true');
      input.focus();
      return;
    }
    signInAs(uid); // the app re-renders on the user change
  });

  container.append(
    h(
      'section',
      { class: 'card signin', 'aria-labelledby': 'signin-title' },
      h('p', { class: 'badge badge--dev' }, 'Local development sign-in'),
      h('h1', { id: 'signin-title' }, 'Turn a story into a comic'),
      h(
        'p',
        { id: 'uid-hint', class: 'muted' },
        'The local stack has no Auth emulator, so type any user id: the API and the ' +
          'Firestore emulator accept an unsigned token for it. Sign in with the same id on ' +
          'another browser or device to pick up your comics there. In production this is ' +
          'Firebase Auth.',
      ),
      form,
    ),
  );
  input.focus();
  return () => {};
}
