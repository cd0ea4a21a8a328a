// An email + password form whose problems show beside their fields: shared by sign-in and by
// a guest saving their account. The actions (auth.js) throw SignInError { field, message }.

import { h } from '../dom.js';

/**
 * fields: ['email'] or ['email', 'password']; newPassword picks the browser's autocomplete
 * (suggest a new password rather than fill a saved one).
 */
export function credentialsForm({ id, fields, newPassword = false, submitLabel, onSubmit }) {
  const errors = Object.fromEntries(
    [...fields, 'form'].map((field) => [
      field,
      h('p', { class: 'field-error', id: `${id}-${field}-error`, dataset: { errorFor: field } }),
    ]),
  );
  errors.form.setAttribute('role', 'alert');
  const inputs = {
    email: h('input', {
      id: 'email',
      name: 'email',
      type: 'email',
      autocomplete: 'email',
      inputmode: 'email',
      spellcheck: 'false',
      required: true,
      'aria-describedby': `${id}-email-error`,
    }),
    password: h('input', {
      id: 'password',
      name: 'password',
      type: 'password',
      autocomplete: newPassword ? 'new-password' : 'current-password',
      required: true,
      minlength: 6,
      'aria-describedby': `${id}-password-error`,
    }),
  };
  const labels = { email: 'Email', password: 'Password' };
  const extras = {}; // label-row companions, e.g. "Forgot your password?"
  const submit = h('button', { type: 'submit', class: 'button button--primary' }, submitLabel);
  const notice = h('p', { class: 'notice-ok', id: `${id}-notice`, role: 'status' });
  const form = h(
    'form',
    { id, class: 'stack', novalidate: true },
    fields.map((field) =>
      h(
        'div',
        { class: 'field' },
        h(
          'div',
          { class: 'label-row' },
          h('label', { for: inputs[field].id }, labels[field]),
          (extras[field] = h('span', { class: 'label-extra' })),
        ),
        inputs[field],
        errors[field],
      ),
    ),
    errors.form,
    notice,
    submit,
  );

  function clear() {
    for (const [field, error] of Object.entries(errors)) {
      error.textContent = '';
      inputs[field]?.removeAttribute('aria-invalid');
    }
    notice.textContent = '';
  }

  function show(error) {
    const field = fields.includes(error.field) ? error.field : 'form';
    errors[field].textContent = error.message || String(error);
    if (inputs[field]) {
      inputs[field].setAttribute('aria-invalid', 'true');
      inputs[field].focus();
    }
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clear();
    submit.disabled = true;
    try {
      const done = await onSubmit(
        Object.fromEntries(fields.map((field) => [field, inputs[field].value])),
      );
      if (done) notice.textContent = done;
    } catch (error) {
      show(error);
    } finally {
      submit.disabled = false;
    }
  });

  return { form, inputs, extras };
}
