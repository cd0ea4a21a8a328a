// One comic, live: the job document gives its state and title, the panels subcollection gives
// each panel the moment it is finished. The images and audio live in a private bucket: when a
// panel finishes, the API's GET /jobs/{jobId} hands this (owning) user short-lived signed
// links to them, fetched again before they expire. Nothing else calls the API.

import { collection, doc, onSnapshot, orderBy, query } from 'firebase/firestore';

import { cancelJob, deleteJob, getJob, retryPanel } from '../api.js';
import { createReadAlong, panelFigure } from '../comic.js';
import { h, STATUS_LABELS, statusPill, styleLabel, TERMINAL, whileBusy } from '../dom.js';
import { keepForOffline } from '../pwa.js';
import { shareControls } from '../share.js';
import { createEditor } from './edit.js';
import { createExporter } from './export.js';

export function mountJob(container, { config, db, user, jobId }) {
  const view = createView(jobId, config, db);
  container.append(view.root);
  let job = null;
  let panels = [];
  let panelsHeard = false;
  let missing = false;

  // Shown once both listeners have answered: a job without its panels would show a
  // comic with nothing finished, then jump forward (and progress must never go back).
  const refresh = () => {
    if (!missing && panelsHeard) view.update(job, panels, config, links);
  };
  const links = assetLinks(config, jobId, refresh);
  const fail = (error) => {
    if (missing) return;
    missing = true;
    stop();
    container.replaceChildren(
      error.code === 'permission-denied' || error.code === 'not-found'
        ? notFound(jobId, user)
        : error.code === 'offline'
          ? offline()
          : problem(`Lost the connection to Firestore: ${error.message}`),
    );
  };

  const jobRef = doc(db, 'jobs', jobId);
  const stops = [
    onSnapshot(
      jobRef,
      (snapshot) => {
        // The rules refuse another user's job and a missing one alike.
        if (!snapshot.exists()) {
          // Not in this device's cache yet: only the server can say it does not exist.
          if (snapshot.metadata.fromCache) {
            if (!navigator.onLine) fail({ code: 'offline' });
            return;
          }
          return fail({ code: 'not-found' });
        }
        // Progress never goes backwards on screen: an older state (a cached snapshot arriving
        // after a newer one, on a reconnect) is not shown.
        const next = snapshot.data();
        if (job && (next.updatedAt || 0) < (job.updatedAt || 0)) return;
        job = next;
        refresh();
      },
      fail,
    ),
    onSnapshot(
      query(collection(jobRef, 'panels'), orderBy('index')),
      (snapshot) => {
        const known = new Map(panels.map((panel) => [panel.index, panel]));
        panels = snapshot.docs.map((panel) => newest(known.get(panel.data().index), panel.data()));
        panelsHeard = true;
        links.want(panels);
        refresh();
      },
      fail,
    ),
  ];
  function stop() {
    view.stop();
    links.stop();
    while (stops.length) stops.pop()();
  }
  return stop;
}

/** The later of two states of one panel (by updatedAt), so a panel shown done stays done. */
function newest(shown, next) {
  return shown && (next.updatedAt || 0) < (shown.updatedAt || 0) ? shown : next;
}

// Signed links to the finished panels' images and audio, from GET /jobs/{jobId}: fetched when
// a finished panel has none yet (one request at a time; panels finishing meanwhile share the
// next one), and again a minute before the soonest one expires.
function assetLinks(config, jobId, onChange) {
  const links = new Map(); // panel index -> { image, audio } with url and expiresAt
  let latest = [];
  let inFlight = false;
  let stopped = false;
  let failures = 0;
  let timer = null;

  const lacking = () =>
    latest.some((panel) => {
      if (panel.status !== 'done') return false;
      const known = links.get(panel.index);
      return ['image', 'audio'].some(
        (kind) => panel[kind]?.path && known?.[kind]?.path !== panel[kind].path,
      );
    });

  function later(delay) {
    clearTimeout(timer);
    if (!stopped) timer = setTimeout(fetchLinks, delay);
  }

  async function fetchLinks() {
    if (stopped || inFlight) return;
    inFlight = true;
    try {
      const answer = await getJob(config, jobId);
      if (stopped) return;
      failures = 0;
      for (const panel of answer.panels || []) {
        if (panel.image?.url || panel.audio?.url) {
          links.set(panel.index, { image: panel.image, audio: panel.audio });
        }
      }
      // The whole comic is kept for reading offline (by object path, not by link).
      keepForOffline(
        jobId,
        [...links.values()].flatMap((link) => [link.image?.url, link.audio?.url]).filter(Boolean),
      );
      const expiries = [...links.values()]
        .flatMap((link) => [link.image?.expiresAt, link.audio?.expiresAt])
        .filter(Boolean);
      if (expiries.length) {
        later(Math.max(5_000, Math.min(...expiries) * 1000 - Date.now() - 60_000));
      }
      onChange();
    } catch {
      failures += 1;
      later(Math.min(30_000, 500 * 2 ** failures));
    } finally {
      inFlight = false;
      // A panel finished while the request was out: ask again, a little later.
      if (!stopped && failures === 0 && lacking()) later(250);
    }
  }

  return {
    want(panels) {
      latest = panels;
      if (lacking()) fetchLinks();
    },
    get: (index) => links.get(index),
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

function createView(jobId, config, db) {
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
  const grid = h('ol', { id: 'panels', class: 'panel-grid', 'aria-label': 'Panels' });
  const cards = new Map(); // index -> { key, element }
  let currentConfig = null;
  let currentJob = null;
  let currentPanels = [];
  // Play all, the read-along highlight, and the panel editor and exporter (native dialogs).
  const readAlong = createReadAlong(grid);
  readAlong.controls.hidden = true;
  const edited = h('p', { class: 'edit-notice', role: 'status', 'aria-live': 'polite' });
  const editor = createEditor({
    config,
    jobId,
    saved: (number) => {
      edited.textContent = `Saved: panel ${number} is being made again with your changes.`;
    },
  });
  const exporter = createExporter({ config, db, jobId });
  const exportButton = h(
    'button',
    { type: 'button', id: 'export-open', class: 'button button--small', hidden: true },
    'Export',
  );
  exportButton.addEventListener('click', () => exporter.open(currentPanels));
  grid.addEventListener('click', (event) => {
    const button = event.target.closest('button.panel-edit');
    if (!button) return;
    const panel = currentPanels.find((item) => item.index === Number(button.dataset.index));
    if (panel) editor.open(panel, currentJob);
  });
  const cancel = h(
    'button',
    { type: 'button', class: 'button button--ghost button--small job-cancel', hidden: true },
    'Cancel',
  );
  cancel.addEventListener('click', () =>
    // The job listener shows the outcome.
    whileBusy(
      cancel,
      'Cancelling…',
      () => cancelJob(currentConfig, jobId),
      (error) => {
        cancel.textContent = `Cancel (${error.message})`;
      },
    ),
  );
  const remove = h(
    'button',
    { type: 'button', id: 'delete-job', class: 'button button--ghost button--small' },
    'Delete',
  );
  remove.addEventListener('click', async () => {
    const panels = root.dataset.total || 'its';
    const named = title.textContent || 'this comic';
    const question =
      `Delete “${named}”?\n\nIts story, ${panels} panels, images, audio and costs are ` +
      'removed for good; a comic still drawing is stopped first. Links to its images or ' +
      'audio you already shared stop working within 15 minutes.';
    if (!window.confirm(question)) return;
    const deleted = async () => {
      await deleteJob(currentConfig, jobId);
      window.location.hash = '#/';
    };
    await whileBusy(remove, 'Deleting…', deleted, (error) => {
      remove.textContent = `Delete (${error.message})`;
    });
  });
  const share = shareControls(jobId, () => currentConfig);
  const root = h(
    'article',
    { id: 'job-view', class: 'job', dataset: { jobId, status: '', finished: 0, total: 0 } },
    h('a', { href: '#/', class: 'back' }, '← My comics'),
    h('header', { class: 'job-head' }, h('div', {}, eyebrow, title), pill),
    bar,
    h('div', { class: 'progress-row' }, progressText, cancel, exportButton, share.button, remove),
    share.panel,
    jobError,
    edited,
    readAlong.controls,
    grid,
    editor.dialog,
    exporter.dialog,
  );

  function update(job, panels, config, links) {
    if (!job) return;
    const status = job.status;
    // A completed or partial job's counts are its own: its last panels and its final move
    // are one write, which the job's and the panels' listeners may report in either order.
    const counted = status === 'completed' || status === 'partial';
    const done =
      counted && Number.isInteger(job.panelsDone)
        ? job.panelsDone
        : panels.filter((panel) => panel.status === 'done').length;
    const failed =
      counted && Number.isInteger(job.panelsFailed)
        ? job.panelsFailed
        : panels.filter((panel) => panel.status === 'failed').length;
    const total = job.panelCount || panels.length || job.panelsRequested || 0;
    const finished = done + failed;
    const planned = Boolean(job.panelCount) || panels.length > 0;

    currentConfig = config;
    currentJob = job;
    currentPanels = panels;
    cancel.hidden = TERMINAL.has(status);
    readAlong.controls.hidden = done === 0;
    exportButton.hidden = !TERMINAL.has(status) || done === 0;
    root.dataset.status = status;
    root.dataset.finished = String(finished);
    root.dataset.total = String(total);
    if (job.language) grid.lang = job.language; // the comic's text, read in its language
    share.update(job);
    title.textContent = job.title || 'Your comic';
    document.title = `${job.title || 'Comic'} · Panelflow`;
    const style = job.style ? styleLabel(job.style) : '';
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

    // Unfinished panels of a cancelled job will not be drawn: say so instead of "Waiting…".
    const stopped = status === 'cancelled';
    for (const panel of panels) {
      const link = links.get(panel.index);
      const key = panelKey(panel, link, stopped, job.language);
      const known = cards.get(panel.index);
      if (known && known.key === key) {
        renewLinks(known.element, link); // unchanged: keep the audio player as it is
        continue;
      }
      const element = panelCard(panel, link, jobId, config, stopped, job.language);
      if (known) known.element.replaceWith(element);
      else grid.append(element);
      cards.set(panel.index, { key, element });
    }
  }

  return {
    root,
    update,
    stop() {
      readAlong.stop();
      exporter.stop();
    },
  };
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

function panelKey(panel, link, stopped, language) {
  return JSON.stringify([
    stopped,
    language,
    panel.status,
    panel.image?.path,
    panel.audio?.path,
    panel.audio?.lines,
    panel.caption,
    panel.narration,
    panel.dialogue,
    panel.notes,
    panel.error,
    link?.image?.path === panel.image?.path ? Boolean(link?.image?.url) : false,
    link?.audio?.path === panel.audio?.path ? Boolean(link?.audio?.url) : false,
  ]);
}

/** Fresh links for a card already shown: only where nothing is loaded or playing. */
function renewLinks(element, link) {
  const image = element.querySelector('img');
  if (image && link?.image?.url && (!image.complete || !image.naturalWidth)) {
    image.src = link.image.url;
  }
  const audio = element.querySelector('audio');
  if (audio && link?.audio?.url && audio.paused && audio.currentTime === 0) {
    audio.src = link.audio.url;
  }
}

function panelCard(panel, link, jobId, config, stopped = false, language = 'en') {
  const number = panel.index + 1;
  const props = {
    class: `panel panel--${panel.status}`,
    dataset: { index: panel.index, status: panel.status },
  };
  const badge = h('span', { class: 'panel-number' }, String(number));
  const edit = h(
    'button',
    {
      type: 'button',
      class: 'button button--ghost button--small panel-edit',
      dataset: { index: panel.index },
      'aria-label': `Edit panel ${number}`,
    },
    'Edit',
  );
  if (panel.status === 'done') {
    // The lettering is live text over the image (comic.js), the full text under it.
    const figure = panelFigure(panel, {
      imageUrl: imageUrl(panel, link),
      audioUrl: audioUrl(panel, link),
      language,
      badge,
      placeholder: panel.image?.path ? 'Loading…' : 'No image',
    });
    figure.querySelector('figcaption').append(h('div', { class: 'panel-tools' }, edit));
    return h('li', props, figure);
  }
  if (panel.status === 'failed') {
    const reason = panel.error?.message || 'no reason was recorded';
    // Retry draws this panel again; the listeners then show it pending, then its outcome.
    const retry = h(
      'button',
      {
        type: 'button',
        class: 'button button--small panel-retry',
        onclick: async (event) => {
          const button = event.currentTarget;
          button.disabled = true;
          button.textContent = 'Retrying…';
          try {
            await retryPanel(config, jobId, panel.index);
          } catch (error) {
            button.disabled = false;
            button.textContent = `Retry (${error.message})`;
          }
        },
      },
      'Retry',
    );
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
          h('div', { class: 'panel-tools' }, retry, edit),
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
        stopped ? 'Not drawn' : panel.status === 'rendering' ? 'Drawing…' : 'Waiting…',
      ),
    ),
  );
}

// The signed link of the panel's current asset (a regenerated panel has a new path).
function imageUrl(panel, link) {
  return panel.image?.path && link?.image?.path === panel.image.path ? link.image.url : null;
}

function audioUrl(panel, link) {
  return panel.audio?.path && link?.audio?.path === panel.audio.path ? link.audio.url : null;
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
      ` for ${user.displayName}: it does not exist, or it belongs to another account.`,
    ),
    h('a', { href: '#/', class: 'button button--primary' }, 'Back to my comics'),
  );
}

function offline() {
  const again = h('button', { type: 'button', class: 'button' }, 'Try again');
  again.addEventListener('click', () => window.location.reload());
  return h(
    'section',
    { id: 'job-offline', class: 'card notice', role: 'alert' },
    h('h1', {}, 'Not on this device yet'),
    h(
      'p',
      {},
      'You are offline, and this comic was never opened here: it shows once the network is back.',
    ),
    again,
    ' ',
    h('a', { href: '#/', class: 'button' }, 'Back to my comics'),
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
