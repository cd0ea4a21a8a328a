// Exporting a finished comic: a PDF, a CBZ or an MP4, in one of four layouts, with the
// panels in the order chosen and any hidden ones left out. POST /jobs/{jobId}/exports starts
// it; its progress comes from the Firestore document jobs/{jobId}/exports/{exportId} (or,
// where the rules do not let this client read it, from GET every two seconds); once done,
// GET /jobs/{jobId}/exports/{exportId} hands a signed link to download it.

import { doc, onSnapshot } from 'firebase/firestore';

import { ApiError, getExport, startExport } from '../api.js';
import { h } from '../dom.js';

const FORMATS = [
  ['pdf', 'PDF (pages to print or read)'],
  ['cbz', 'CBZ (comic book reader apps)'],
  ['mp4', 'MP4 (video with the narration)'],
];
const LAYOUTS = [
  ['grid', 'Grid: several panels a page'],
  ['strip', 'Strip: one long column'],
  ['single', 'Single: one panel a page'],
  ['manga', 'Manga: right to left'],
];
const POLL_MS = 2000;

function choice(id, label, options) {
  const select = h(
    'select',
    { id, name: id.replace('export-', '') },
    options.map(([value, text]) => h('option', { value }, text)),
  );
  return [select, h('div', { class: 'field' }, h('label', { for: id }, label), select)];
}

function sizeText(bytes) {
  if (!bytes) return '';
  return bytes > 1e6
    ? `${(bytes / 1e6).toFixed(1)} MB`
    : `${Math.max(1, Math.round(bytes / 1e3))} kB`;
}

/** The export dialog; ``open(panels)`` lists the comic's finished panels to order or hide. */
export function createExporter({ config, db, jobId }) {
  const [format, formatField] = choice('export-format', 'Format', FORMATS);
  const [layout, layoutField] = choice('export-layout', 'Layout', LAYOUTS);
  // A video shows one panel at a time: its layout is always "single".
  format.addEventListener('change', () => {
    const video = format.value === 'mp4';
    if (video) layout.value = 'single';
    layout.disabled = video;
  });
  const order = h('ol', { class: 'export-order', 'aria-label': 'Panels in export order' });
  const fill = h('div', { class: 'progress-fill' });
  const bar = h(
    'div',
    {
      class: 'progress',
      role: 'progressbar',
      'aria-label': 'Export progress',
      'aria-valuemin': 0,
      'aria-valuemax': 100,
      hidden: true,
    },
    fill,
  );
  const status = h('p', { class: 'export-status', role: 'status', 'aria-live': 'polite' });
  const download = h('a', { class: 'button button--primary export-download', hidden: true });
  const submit = h('button', { type: 'submit', class: 'button button--primary' }, 'Export');
  const close = h('button', { type: 'button', class: 'button button--ghost' }, 'Close');
  const form = h(
    'form',
    { id: 'export-form', class: 'stack', novalidate: true },
    h('h2', { id: 'export-title' }, 'Export'),
    formatField,
    layoutField,
    h(
      'fieldset',
      { class: 'field' },
      h('legend', {}, 'Panels'),
      h('p', { class: 'hint' }, 'Untick a panel to leave it out; move panels to change the order.'),
      order,
    ),
    bar,
    status,
    h('div', { class: 'actions' }, submit, download, close),
  );
  const dialog = h(
    'dialog',
    { class: 'card export-dialog', 'aria-labelledby': 'export-title' },
    form,
  );
  let stopWatching = () => {};
  let natural = [];

  function row(index) {
    const box = h('input', {
      type: 'checkbox',
      checked: true,
      id: `export-panel-${index}`,
      value: index,
    });
    const move = (step, label) =>
      h(
        'button',
        {
          type: 'button',
          class: 'button button--ghost button--small',
          'aria-label': `Move panel ${index + 1} ${label}`,
          onclick: (event) => {
            const item = event.currentTarget.closest('li');
            const sibling = step < 0 ? item.previousElementSibling : item.nextElementSibling;
            if (!sibling) return;
            if (step < 0) sibling.before(item);
            else sibling.after(item);
            event.currentTarget.focus();
          },
        },
        step < 0 ? '↑' : '↓',
      );
    return h(
      'li',
      { dataset: { index } },
      h('label', { for: box.id }, box, ` Panel ${index + 1}`),
      move(-1, 'up'),
      move(1, 'down'),
    );
  }

  function chosenPanels() {
    const chosen = [...order.querySelectorAll('input:checked')].map((box) => Number(box.value));
    // The whole comic in its own order needs no list.
    return JSON.stringify(chosen) === JSON.stringify(natural) ? undefined : chosen;
  }

  function show(exported) {
    const percent = Math.round(100 * (Number(exported.progress) || 0));
    bar.hidden = false;
    bar.dataset.status = exported.status;
    bar.setAttribute('aria-valuenow', String(exported.status === 'done' ? 100 : percent));
    fill.style.width = `${exported.status === 'done' ? 100 : percent}%`;
    dialog.dataset.status = exported.status;
    if (exported.status === 'failed') {
      const reason = exported.error?.message || 'no reason was recorded';
      status.textContent = `The export failed: ${reason}`;
      submit.disabled = false;
      return true;
    }
    if (exported.status === 'done') {
      status.textContent = 'Preparing the download link…';
      return true;
    }
    status.textContent =
      exported.status === 'queued' ? 'Waiting for an exporter…' : `Exporting… ${percent}%`;
    return false;
  }

  async function linkFor(exportId, what) {
    try {
      const ready = await getExport(config, jobId, exportId);
      download.href = ready.url;
      download.setAttribute('download', '');
      download.textContent = `Download ${what.format.toUpperCase()} ${sizeText(ready.size)}`.trim();
      download.hidden = false;
      status.textContent = 'Your export is ready. The link works for a few minutes.';
      download.focus();
    } catch (error) {
      status.textContent = `The export is done, but its link could not be fetched: ${error.message}`;
    } finally {
      submit.disabled = false;
    }
  }

  function watch(exportId, what) {
    stopWatching();
    let timer = null;
    let live = true;
    const finished = (exported) => {
      if (!show(exported)) return false;
      stopWatching();
      if (exported.status === 'done') linkFor(exportId, what);
      return true;
    };
    const poll = async () => {
      if (!live) return;
      try {
        if (finished(await getExport(config, jobId, exportId))) return;
      } catch (error) {
        status.textContent = `Checking the export: ${error.message}`;
      }
      if (live) timer = setTimeout(poll, POLL_MS);
    };
    const unsubscribe = onSnapshot(
      doc(db, 'jobs', jobId, 'exports', exportId),
      (snapshot) => {
        if (snapshot.exists()) finished(snapshot.data());
      },
      () => poll(), // not readable here: ask the API instead
    );
    stopWatching = () => {
      live = false;
      clearTimeout(timer);
      unsubscribe();
      stopWatching = () => {};
    };
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const panels = chosenPanels();
    if (panels && !panels.length) {
      status.textContent = 'Choose at least one panel to export.';
      return;
    }
    const request = { format: format.value, layout: layout.value };
    if (panels) request.panels = panels;
    submit.disabled = true;
    download.hidden = true;
    status.textContent = 'Starting the export…';
    try {
      const started = await startExport(config, jobId, request);
      dialog.dataset.exportId = started.exportId;
      show({ status: started.status || 'queued', progress: 0 });
      watch(started.exportId, request);
    } catch (error) {
      submit.disabled = false;
      status.textContent =
        error instanceof ApiError && error.status === 409
          ? 'This comic is not finished yet: export it once every panel is drawn.'
          : `The export could not start: ${error.message}`;
    }
  });
  close.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => stopWatching());

  return {
    dialog,
    open(panels) {
      natural = panels.filter((panel) => panel.status === 'done').map((panel) => panel.index);
      order.replaceChildren(...natural.map(row));
      status.textContent = '';
      bar.hidden = true;
      download.hidden = true;
      submit.disabled = false;
      dialog.showModal();
      format.focus();
    },
    stop: () => stopWatching(),
  };
}
