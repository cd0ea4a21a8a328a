// One comic, live: the job document gives its state and title, the panels subcollection gives
// each panel the moment it is finished. Nothing here polls the API.

import { collection, doc, onSnapshot, orderBy, query } from 'firebase/firestore';

import { retryPanel } from '../api.js';
import { h, STATUS_LABELS, statusPill, TERMINAL } from '../dom.js';
import { STYLES } from './home.js';

export function mountJob(container, { config, db, user, jobId }) {
  const view = createView(jobId);
  container.append(view.root);
  let job = null;
  let panels = [];
  let missing = false;

  const refresh = () => {
    if (!missing) view.update(job, panels, config);
  };
  const fail = (error) => {
    if (missing) return;
    missing = true;
    stop();
    container.replaceChildren(
      error.code === 'permission-denied' || error.code === 'not-found'
        ? notFound(jobId, user)
        : problem(`Lost the connection to Firestore: ${error.message}`),
    );
  };

  const jobRef = doc(db, 'jobs', jobId);
  const stops = [
    onSnapshot(
      jobRef,
      (snapshot) => {
        // The rules refuse another user's job and a missing one alike.
        if (!snapshot.exists()) return fail({ code: 'not-found' });
        job = snapshot.data();
        refresh();
      },
      fail,
    ),
    onSnapshot(
      query(collection(jobRef, 'panels'), orderBy('index')),
      (snapshot) => {
        panels = snapshot.docs.map((panel) => panel.data());
        refresh();
      },
      fail,
    ),
  ];
  function stop() {
    while (stops.length) stops.pop()();
  }
  return stop;
}

function createView(jobId) {
  const title = h('h1', { class: 'job-title' }, 'Loading…');
  const eyebrow = h('p', { class: 'eyebrow' });
  const pill = h('span', { class: 'job-pill' });
  const fill = h('div', { class: 'progress-fill' });
  const bar = h(
    'div',
    {
      class: 'progress progress--indeterminate',
      role: 'progressbar',
      'aria-label': 'Panels finished',
      'aria-valuemin': 0,
      'aria-valuemax': 100,
    },
    fill,
  );
  const progressText = h('p', { class: 'progress-text', 'aria-live': 'polite' }, 'Connecting…');
  const jobError = h('p', { class: 'job-error', role: 'alert', hidden: true });
  const grid = h('ol', { class: 'panel-grid', 'aria-label': 'Panels' });
  const cards = new Map(); // index -> { key, element }
  const root = h(
    'article',
    { id: 'job-view', class: 'job', dataset: { jobId, status: '', finished: 0, total: 0 } },
    h('a', { href: '#/', class: 'back' }, '← My comics'),
    h(
      'header',
      { class: 'job-head' },
      h('div', {}, eyebrow, title),
      pill,
    ),
    bar,
    h('div', { class: 'progress-row' }, progressText, shareButton()),
    jobError,
    grid,
  );

  function update(job, panels, config) {
    if (!job) return;
    const status = job.status;
    const done = panels.filter((panel) => panel.status === 'done').length;
    const failed = panels.filter((panel) => panel.status === 'failed').length;
    const total = job.panelCount || panels.length || job.panelsRequested || 0;
    const finished = done + failed;
    const planned = Boolean(job.panelCount) || panels.length > 0;

    root.dataset.status = status;
    root.dataset.finished = String(finished);
    root.dataset.total = String(total);
    title.textContent = job.title || 'Your comic';
    document.title = `${job.title || 'Comic'} · Panelflow`;
    const style = STYLES.find((item) => item.value === job.style)?.label || job.style;
    eyebrow.textContent = [style, total && `${total} panels`].filter(Boolean).join(' · ');
    pill.replaceChildren(statusPill(status));

    const percent = TERMINAL.has(status) ? 100 : total ? Math.round((100 * finished) / total) : 0;
    bar.classList.toggle('progress--indeterminate', !planned && !TERMINAL.has(status));
    bar.dataset.status = status;
    bar.setAttribute('aria-valuenow', String(percent));
    fill.style.width = `${planned || TERMINAL.has(status) ? percent : 0}%`;
    progressText.textContent = progressLine(status, finished, failed, total, planned);

    jobError.hidden = !job.error;
    jobError.textContent = job.error ? `${job.error.message} (${job.error.code})` : '';

    for (const panel of panels) {
      const key = panelKey(panel);
      const known = cards.get(panel.index);
      if (known && known.key === key) continue; // unchanged: keep the audio player as it is
      const element = panelCard(panel, jobId, config);
      if (known) known.element.replaceWith(element);
      else grid.append(element);
      cards.set(panel.index, { key, element });
    }
  }

  return { root, update };
}

function progressLine(status, finished, failed, total, planned) {
  if (status === 'queued') return 'Queued: a planner will pick it up in a moment…';
  if (status === 'planning' || !planned) {
    return 'Planning the story: characters, scenes, dialogue…';
  }
  const failures = failed ? ` · ${failed} failed` : '';
  if (TERMINAL.has(status)) {
    return `${STATUS_LABELS[status]}: ${finished - failed} of ${total} panels drawn${failures}`;
  }
  return `${finished} of ${total} panels finished${failures}`;
}

function panelKey(panel) {
  return JSON.stringify([
    panel.status,
    panel.image?.url,
    panel.audio?.url,
    panel.caption,
    panel.dialogue,
    panel.error,
  ]);
}

function panelCard(panel, jobId, config) {
  const number = panel.index + 1;
  const props = {
    class: `panel panel--${panel.status}`,
    dataset: { index: panel.index, status: panel.status },
  };
  const badge = h('span', { class: 'panel-number' }, String(number));
  if (panel.status === 'done') {
    return h(
      'li',
      props,
      h(
        'figure',
        {},
        h(
          'div',
          { class: 'panel-art' },
          badge,
          panel.image?.url
            ? h('img', {
                src: panel.image.url,
                alt: panel.scene || panel.caption || `Panel ${number}`,
                width: panel.image.width,
                height: panel.image.height,
                loading: 'lazy',
                decoding: 'async',
              })
            : h('div', { class: 'panel-placeholder' }, 'No image'),
        ),
        h(
          'figcaption',
          {},
          panel.caption ? h('p', { class: 'caption' }, panel.caption) : null,
          panel.dialogue?.length
            ? h(
                'ul',
                { class: 'dialogue' },
                panel.dialogue.map((line) =>
                  h('li', {}, h('b', {}, line.speaker || 'Narrator'), ' ', `“${line.text}”`),
                ),
              )
            : null,
          panel.audio?.url
            ? h('audio', {
                controls: true,
                preload: 'none',
                src: panel.audio.url,
                'aria-label': `Narration of panel ${number}`,
              })
            : null,
        ),
      ),
    );
  }
  if (panel.status === 'failed') {
    const reason = panel.error?.message || 'no reason was recorded';
    // ---- RETRY HOOK: once api.retryPanel exists, failed panels offer a Retry button. ----
    const retry = retryPanel
      ? h(
          'button',
          {
            type: 'button',
            class: 'button button--small',
            onclick: () => retryPanel(config, jobId, panel.index),
          },
          'Retry',
        )
      : null;
    return h(
      'li',
      props,
      h(
        'div',
        { class: 'panel-art panel-art--failed' },
        badge,
        h(
          'div',
          { class: 'panel-failure' },
          h('strong', {}, `Panel ${number} could not be drawn`),
          h('p', { class: 'panel-reason' }, reason),
          panel.error?.code ? h('code', {}, panel.error.code) : null,
          retry,
        ),
      ),
    );
  }
  return h(
    'li',
    props,
    h(
      'div',
      { class: 'panel-art panel-art--waiting' },
      badge,
      h(
        'span',
        { class: 'panel-waiting' },
        panel.status === 'rendering' ? 'Drawing…' : 'Waiting…',
      ),
    ),
  );
}

function shareButton() {
  const button = h(
    'button',
    { type: 'button', class: 'button button--ghost button--small' },
    'Copy link',
  );
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(window.location.href);
      button.textContent = 'Link copied';
    } catch {
      button.textContent = 'Copy the address bar';
    }
    setTimeout(() => (button.textContent = 'Copy link'), 2000);
  });
  return button;
}

function notFound(jobId, user) {
  return h(
    'section',
    { id: 'job-missing', class: 'card notice', role: 'alert' },
    h('h1', {}, 'Comic not found'),
    h(
      'p',
      {},
      'There is no comic ',
      h('code', {}, jobId),
      ` for ${user.uid}: it does not exist, or it belongs to another account.`,
    ),
    h('a', { href: '#/', class: 'button button--primary' }, 'Back to my comics'),
  );
}

function problem(message) {
  return h(
    'section',
    { class: 'card notice', role: 'alert' },
    h('h1', {}, 'Something went wrong'),
    h('p', {}, message),
    h('a', { href: '#/', class: 'button' }, 'Back to my comics'),
  );
}
