// Home: the "New comic" form and the signed-in user's comics, live from Firestore.

import { collection, limit, onSnapshot, orderBy, query, where } from 'firebase/firestore';

import { ApiError, startJob } from '../api.js';
import { askNotificationPermission } from '../notify.js';
import { h, statusPill, styleLabel, when } from '../dom.js';

const FIELDS = ['story', 'style', 'styleText', 'panels', 'language'];
// A style described in the user's own words, offered beside the presets where the catalogue
// has one (customStyle: {style, maxChars}).

/** A language code as the reader's browser names it ("ja" → "Japanese"), code as fallback. */
function languageName(code) {
  try {
    const names = new Intl.DisplayNames([navigator.language || 'en'], { type: 'language' });
    return names.of(code) || code;
  } catch {
    return code;
  }
}

export function mountHome(container, { config, db, user }) {
  const unsubscribe = [];
  container.append(
    // The page's one level-one heading, for screen readers (the cards carry the visible ones).
    h('h1', { class: 'visually-hidden' }, 'Panelflow: make a comic, read my comics'),
    h(
      'div',
      { class: 'home' },
      composeCard(config),
      comicsCard(db, user, (stop) => unsubscribe.push(stop)),
    ),
  );
  return () => unsubscribe.forEach((stop) => stop());
}

// ---- New comic ---------------------------------------------------------------------------

function composeCard(config) {
  // Styles, languages and limits are the API's (GET /catalogue), never a copy of them.
  const { styles: presets, languages, panels: limits, maxStoryChars } = config.catalogue;
  const custom = config.catalogue.customStyle;
  const styleValues = custom ? [...presets, custom.style] : presets;
  const styleTextMax = custom?.maxChars;
  const errors = Object.fromEntries(
    [...FIELDS, 'form'].map((field) => [
      field,
      h('p', { class: 'field-error', id: `${field}-error`, dataset: { errorFor: field } }),
    ]),
  );
  errors.form.setAttribute('role', 'alert');
  const story = h('textarea', {
    id: 'story',
    name: 'story',
    rows: 9,
    placeholder: 'Paste a story. Paragraphs become scenes; "quoted speech" becomes speech bubbles.',
    'aria-describedby': 'story-count story-error',
  });
  const count = h('span', { id: 'story-count', class: 'count' }, `0 / ${maxStoryChars}`);
  story.addEventListener('input', () => {
    count.textContent = `${story.value.length} / ${maxStoryChars}`;
    count.classList.toggle('count--over', story.value.length > maxStoryChars);
  });
  const styles = h(
    'div',
    { class: 'chips', role: 'radiogroup', 'aria-labelledby': 'style-label' },
    styleValues.map((value, index) =>
      h(
        'label',
        { class: `chip chip--${value}` },
        h('input', {
          type: 'radio',
          name: 'style',
          value,
          checked: index === 0,
          'aria-describedby': 'style-error',
        }),
        h('span', { class: 'swatch', 'aria-hidden': 'true' }),
        h('span', {}, styleLabel(value)),
      ),
    ),
  );
  const styleText = h('textarea', {
    id: 'styleText',
    name: 'styleText',
    rows: 3,
    maxlength: styleTextMax,
    placeholder: 'Describe the look: e.g. ink and wash, muted greens, thick outlines.',
    'aria-describedby': 'styleText-count styleText-error',
  });
  const styleCount = h('span', { id: 'styleText-count', class: 'count' }, `0 / ${styleTextMax}`);
  styleText.addEventListener('input', () => {
    styleCount.textContent = `${styleText.value.length} / ${styleTextMax}`;
  });
  const customField = h(
    'div',
    { class: 'field', id: 'custom-style', hidden: true, dataset: { style: custom?.style } },
    h('div', { class: 'label-row' }, h('label', { for: 'styleText' }, 'Your style'), styleCount),
    styleText,
    errors.styleText,
  );
  styles.addEventListener('change', () => {
    customField.hidden = !custom || styles.querySelector('input:checked')?.value !== custom.style;
  });
  const panels = h('input', {
    id: 'panels',
    name: 'panels',
    type: 'number',
    inputmode: 'numeric',
    min: limits.min,
    max: limits.max,
    step: 1,
    value: limits.default,
    'aria-describedby': 'panels-hint panels-error',
  });
  const browserLanguage = (navigator.language || '').slice(0, 2).toLowerCase();
  const language = h(
    'select',
    { id: 'language', name: 'language', 'aria-describedby': 'language-error' },
    languages.map((code) =>
      h(
        'option',
        { value: code, selected: code === browserLanguage || undefined, lang: code },
        languageName(code),
      ),
    ),
  );
  const submit = h('button', { type: 'submit', class: 'button button--primary' }, 'Make my comic');
  // One Idempotency-Key per comic the user asks for: kept while the same request is retried
  // (a button pressed again after a network failure), renewed once a comic was started.
  let idempotencyKey = crypto.randomUUID();
  // novalidate: the API is the one judge of a request; its reasons appear next to each field.
  const form = h(
    'form',
    { id: 'new-comic', class: 'stack', novalidate: true },
    h(
      'div',
      { class: 'field' },
      h('div', { class: 'label-row' }, h('label', { for: 'story' }, 'Story'), count),
      story,
      errors.story,
    ),
    h(
      'div',
      { class: 'field' },
      h('span', { id: 'style-label', class: 'label' }, 'Style'),
      styles,
      errors.style,
    ),
    customField,
    h(
      'div',
      { class: 'field field--narrow' },
      h('label', { for: 'panels' }, 'Panels'),
      panels,
      h('span', { id: 'panels-hint', class: 'hint' }, `${limits.min} to ${limits.max}`),
      errors.panels,
    ),
    h(
      'div',
      { class: 'field field--narrow' },
      h('label', { for: 'language' }, 'Language'),
      language,
      errors.language,
    ),
    errors.form,
    h('div', { class: 'actions' }, submit),
  );

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form, errors);
    submit.disabled = true;
    submit.textContent = 'Starting…';
    try {
      const rawPanels = panels.value.trim();
      const number = Number(rawPanels);
      const created = await startJob(
        config,
        {
          story: story.value,
          style: form.elements.style.value,
          styleText: custom && form.elements.style.value === custom.style ? styleText.value : null,
          // Anything that is not a whole number goes as typed, for the API to explain.
          panels: rawPanels === '' ? undefined : Number.isInteger(number) ? number : rawPanels,
          language: language.value,
        },
        idempotencyKey,
      );
      idempotencyKey = crypto.randomUUID();
      askNotificationPermission(); // only now that there is something to be told about
      window.location.hash = `#/jobs/${encodeURIComponent(created.jobId)}`;
    } catch (error) {
      showErrors(form, errors, error);
      submit.disabled = false;
      submit.textContent = 'Make my comic';
    }
  });

  return h(
    'section',
    { class: 'card compose', 'aria-labelledby': 'compose-title' },
    h('h2', { id: 'compose-title' }, 'New comic'),
    form,
  );
}

function clearErrors(form, errors) {
  for (const element of Object.values(errors)) element.textContent = '';
  for (const element of form.querySelectorAll('[aria-invalid]')) {
    element.removeAttribute('aria-invalid');
  }
  form.querySelector('.chips').classList.remove('chips--invalid');
}

function showErrors(form, errors, error) {
  if (!(error instanceof ApiError)) {
    errors.form.textContent = `Something went wrong: ${error.message}`;
    return;
  }
  const fieldErrors = error.errors.filter((item) => FIELDS.includes(item.field));
  for (const item of fieldErrors) {
    const target = errors[item.field];
    const label = item.field === 'styleText' ? 'Your style' : capitalise(item.field);
    target.textContent = target.textContent
      ? `${target.textContent}; ${item.reason}`
      : `${label} ${item.reason}.`;
    if (item.field === 'style') form.querySelector('.chips').classList.add('chips--invalid');
    else form.elements[item.field].setAttribute('aria-invalid', 'true');
  }
  const others = error.errors.filter((item) => !FIELDS.includes(item.field));
  if (others.length) {
    errors.form.textContent = others.map((item) => `${item.field}: ${item.reason}`).join('; ');
  } else if (!fieldErrors.length) {
    errors.form.textContent =
      error.status === 401 ? `Sign-in refused: ${error.message}` : error.message;
  }
  const first = fieldErrors[0]?.field;
  if (first === 'style') form.querySelector('input[name=style]:checked')?.focus();
  else if (first) form.elements[first].focus();
}

function capitalise(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

// ---- My comics ---------------------------------------------------------------------------

function comicsCard(db, user, keep) {
  const list = h('ol', { id: 'my-comics', class: 'comic-list', 'aria-live': 'polite' });
  const note = h('p', { class: 'muted empty' }, 'Loading your comics…');
  // The same query on every device: that is how another device resumes a job.
  const mine = query(
    collection(db, 'jobs'),
    where('ownerUid', '==', user.uid),
    orderBy('createdAt', 'desc'),
    limit(50),
  );
  keep(
    onSnapshot(
      mine,
      (snapshot) => {
        list.replaceChildren(...snapshot.docs.map((doc) => comicItem(doc.id, doc.data())));
        note.textContent = snapshot.empty ? 'No comics yet. Your first one will appear here.' : '';
        note.hidden = !snapshot.empty;
      },
      (error) => {
        note.hidden = false;
        note.textContent = `Could not load your comics: ${error.message}`;
      },
    ),
  );
  return h(
    'section',
    { class: 'card comics', 'aria-labelledby': 'comics-title' },
    h('h2', { id: 'comics-title' }, 'My comics'),
    note,
    list,
  );
}

function comicItem(jobId, job) {
  const panels = job.panelCount || job.panelsRequested || 0;
  const style = job.style ? { value: job.style, label: styleLabel(job.style) } : undefined;
  return h(
    'li',
    { class: 'comic-item', dataset: { jobId, status: job.status } },
    h(
      'a',
      { href: `#/jobs/${encodeURIComponent(jobId)}` },
      h('span', { class: `thumb chip--${job.style}`, 'aria-hidden': 'true' }),
      h(
        'span',
        { class: 'comic-text' },
        h('span', { class: 'comic-title' }, job.title || 'Untitled comic (planning…)'),
        h(
          'span',
          { class: 'comic-meta' },
          [`${panels} panel${panels === 1 ? '' : 's'}`, style?.label, when(job.createdAt)]
            .filter(Boolean)
            .join(' · '),
        ),
      ),
      statusPill(job.status),
    ),
  );
}
