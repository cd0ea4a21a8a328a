// Editing a panel: its caption, narration, dialogue (speaker, text and where the speaker
// stands) and image prompt, sent as PATCH /jobs/{jobId}/panels/{index} with only what
// changed. The API redraws or re-speaks what the change needs; the panel listener shows the
// panel going back to drawing and arriving again. One <dialog> per job view.

import { ApiError, editPanel } from '../api.js';
import { h } from '../dom.js';

const SIDES = [
  ['left', 'Left'],
  ['center', 'Center'],
  ['right', 'Right'],
];
const LABELS = {
  caption: 'Caption',
  narration: 'Narration',
  dialogue: 'Dialogue',
  imagePrompt: 'Image prompt',
  speaker: 'Speaker',
  text: 'Text',
  side: 'Side',
};

/** The edit dialog: ``open(panel, job)`` fills it from the panel as it is now. ``saved``
 * is told the panel's number once the API took the change. */
export function createEditor({ config, jobId, saved }) {
  const errors = {};
  const errorFor = (field) =>
    (errors[field] = h('p', {
      class: 'field-error',
      id: `edit-${field}-error`,
      dataset: { errorFor: field },
    }));
  const caption = h('input', {
    id: 'edit-caption',
    name: 'caption',
    type: 'text',
    'aria-describedby': 'edit-caption-error',
  });
  const narration = h('textarea', {
    id: 'edit-narration',
    name: 'narration',
    rows: 3,
    'aria-describedby': 'edit-narration-error',
  });
  const imagePrompt = h('textarea', {
    id: 'edit-imagePrompt',
    name: 'imagePrompt',
    rows: 4,
    'aria-describedby': 'edit-imagePrompt-hint edit-imagePrompt-error',
  });
  const rows = h('ol', { class: 'edit-lines' });
  const addLine = h('button', { type: 'button', class: 'button button--small' }, 'Add a line');
  const heading = h('h2', { id: 'edit-title' }, 'Edit panel');
  const formError = h('p', { class: 'field-error', role: 'alert', dataset: { errorFor: 'form' } });
  const submit = h('button', { type: 'submit', class: 'button button--primary' }, 'Save');
  const close = h('button', { type: 'button', class: 'button button--ghost' }, 'Cancel');
  const form = h(
    'form',
    { id: 'edit-panel', class: 'stack', method: 'dialog', novalidate: true },
    heading,
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'edit-caption' }, 'Caption'),
      caption,
      errorFor('caption'),
    ),
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'edit-narration' }, 'Narration'),
      narration,
      errorFor('narration'),
    ),
    h(
      'fieldset',
      { class: 'field edit-dialogue', 'aria-describedby': 'edit-dialogue-error' },
      h('legend', {}, 'Dialogue'),
      rows,
      addLine,
      errorFor('dialogue'),
    ),
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'edit-imagePrompt' }, 'Image prompt'),
      imagePrompt,
      h(
        'span',
        { id: 'edit-imagePrompt-hint', class: 'hint' },
        'Changing the prompt draws the picture again; changing only words speaks it again.',
      ),
      errorFor('imagePrompt'),
    ),
    formError,
    h('div', { class: 'actions' }, submit, close),
  );
  const dialog = h('dialog', { class: 'card edit-dialog', 'aria-labelledby': 'edit-title' }, form);

  let panel = null;
  let speakers = [];

  function lineRow(line, position) {
    const id = `edit-line-${position}`;
    const names = [...new Set([...speakers, line.speaker].filter(Boolean))];
    const speaker = h(
      'select',
      { id: `${id}-speaker`, name: 'speaker', 'aria-label': `Line ${position + 1}: speaker` },
      names.map((name) => h('option', { value: name, selected: name === line.speaker }, name)),
    );
    const text = h('input', {
      id: `${id}-text`,
      name: 'text',
      type: 'text',
      value: line.text || '',
      'aria-label': `Line ${position + 1}: words`,
    });
    text.value = line.text || '';
    const side = h(
      'select',
      {
        id: `${id}-side`,
        name: 'side',
        'aria-label': `Line ${position + 1}: where the speaker stands`,
      },
      SIDES.map(([value, label]) =>
        h('option', { value, selected: value === (line.side || 'center') }, label),
      ),
    );
    const remove = h(
      'button',
      {
        type: 'button',
        class: 'button button--ghost button--small',
        'aria-label': `Remove line ${position + 1}`,
      },
      'Remove',
    );
    const row = h(
      'li',
      { class: 'edit-line', dataset: { position } },
      speaker,
      text,
      side,
      remove,
      h('p', { class: 'field-error', dataset: { errorFor: `dialogue.${position}` } }),
    );
    remove.addEventListener('click', () => {
      row.remove();
      renumber();
    });
    return row;
  }

  function renumber() {
    [...rows.children].forEach((row, position) => {
      row.dataset.position = String(position);
      row.querySelector('.field-error').dataset.errorFor = `dialogue.${position}`;
    });
  }

  addLine.addEventListener('click', () => {
    rows.append(
      lineRow({ speaker: speakers[0] || '', text: '', side: 'center' }, rows.children.length),
    );
    rows.lastElementChild.querySelector('input').focus();
  });

  function dialogue() {
    return [...rows.children].map((row) => ({
      speaker: row.querySelector('[name=speaker]').value,
      text: row.querySelector('[name=text]').value,
      side: row.querySelector('[name=side]').value,
    }));
  }

  function changes() {
    const changed = {};
    if (caption.value !== (panel.caption || '')) changed.caption = caption.value;
    if (narration.value !== (panel.narration || '')) changed.narration = narration.value;
    if (imagePrompt.value !== (panel.imagePrompt || '')) changed.imagePrompt = imagePrompt.value;
    const before = (panel.dialogue || []).map((line) => ({
      speaker: line.speaker,
      text: line.text,
      side: line.side || 'center',
    }));
    const after = dialogue();
    if (JSON.stringify(before) !== JSON.stringify(after)) changed.dialogue = after;
    return changed;
  }

  function clearErrors() {
    for (const element of form.querySelectorAll('.field-error')) element.textContent = '';
    for (const element of form.querySelectorAll('[aria-invalid]')) {
      element.removeAttribute('aria-invalid');
    }
  }

  // "dialogue[1].text", "dialogue.1.text" → the row's own message; "caption" → its field.
  function showErrors(error) {
    if (!(error instanceof ApiError)) {
      formError.textContent = `Something went wrong: ${error.message}`;
      return;
    }
    if (error.status === 409) {
      formError.textContent =
        `Panel ${panel.index + 1} is being drawn right now. Wait until it has finished, then ` +
        'save again: your changes are still here.';
      return;
    }
    const unplaced = [];
    for (const item of error.errors) {
      const field = String(item.field || '');
      const row = field.match(/^dialogue(?:\[(\d+)\]|\.(\d+))(?:\.(\w+))?/);
      if (row) {
        const position = row[1] ?? row[2];
        const part = row[3];
        const target = form.querySelector(`[data-error-for="dialogue.${position}"]`);
        const input = rows.children[position]?.querySelector(`[name=${part || 'text'}]`);
        if (target) {
          target.textContent = `Line ${Number(position) + 1}: ${LABELS[part] || 'this line'} ${item.reason}.`;
          input?.setAttribute('aria-invalid', 'true');
          continue;
        }
      }
      const name = field.split(/[.[]/)[0];
      if (errors[name]) {
        errors[name].textContent = `${LABELS[name]} ${item.reason}.`;
        form.elements[name]?.setAttribute?.('aria-invalid', 'true');
      } else unplaced.push(item);
    }
    if (unplaced.length || !error.errors.length) {
      formError.textContent = unplaced.length
        ? unplaced.map((item) => `${item.field}: ${item.reason}`).join('; ')
        : error.message;
    }
    form.querySelector('[aria-invalid=true]')?.focus();
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors();
    const changed = changes();
    if (!Object.keys(changed).length) {
      formError.textContent = 'Nothing has changed yet.';
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Saving…';
    try {
      await editPanel(config, jobId, panel.index, changed);
      dialog.close();
      saved(panel.index + 1, changed);
    } catch (error) {
      showErrors(error);
    } finally {
      submit.disabled = false;
      submit.textContent = 'Save';
    }
  });
  close.addEventListener('click', () => dialog.close());

  return {
    dialog,
    open(current, job) {
      panel = current;
      // The comic's characters, and the narrator (a line can be narrated).
      speakers = [
        ...(job?.characters || []).map((character) => character.name).filter(Boolean),
        'narrator',
      ];
      heading.textContent = `Edit panel ${current.index + 1}`;
      clearErrors();
      caption.value = current.caption || '';
      narration.value = current.narration || '';
      imagePrompt.value = current.imagePrompt || '';
      rows.replaceChildren(...(current.dialogue || []).map((line, at) => lineRow(line, at)));
      dialog.dataset.index = String(current.index);
      dialog.showModal();
      caption.focus();
    },
  };
}
