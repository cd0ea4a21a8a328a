// Tiny DOM helpers: every text goes through textContent, so nothing from the data is parsed
// as HTML.

/**
 * Creates an element. props: class, dataset, on<event> handlers, anything else as an attribute
 * (true → present, false/null/undefined → absent). Children: nodes, strings, arrays, null.
 */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') element.className = value;
    else if (key === 'dataset') Object.assign(element.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') {
      element.addEventListener(key.slice(2), value);
    } else element.setAttribute(key, value === true ? '' : String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else element.append(child instanceof Node ? child : String(child));
  }
}

/** "just now", "5 min ago", or a local date and time, for epoch seconds. */
export function when(epochSeconds) {
  if (!epochSeconds) return '';
  const seconds = Date.now() / 1000 - epochSeconds;
  if (seconds < 45) return 'just now';
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return new Date(epochSeconds * 1000).toLocaleString();
}

export const STATUS_LABELS = {
  queued: 'Queued',
  planning: 'Planning',
  rendering: 'Drawing',
  completed: 'Finished',
  partial: 'Finished with gaps',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

// The job states that end a job: filled from the API's catalogue (GET /catalogue) at start.
export const TERMINAL = new Set();

// Display names of the styles; the styles themselves come from the catalogue.
const STYLE_LABELS = { 'pop-art': 'Pop art' };

/** Takes what the server says a client may offer: styles, languages, limits, states. */
export function useCatalogue(catalogue) {
  TERMINAL.clear();
  for (const state of catalogue.terminalJobStates) TERMINAL.add(state);
}

export function styleLabel(value) {
  return STYLE_LABELS[value] || value.charAt(0).toUpperCase() + value.slice(1);
}

export function statusPill(status) {
  return h(
    'span',
    { class: `pill pill--${status || 'unknown'}`, dataset: { status: status || '' } },
    STATUS_LABELS[status] || status || '…',
  );
}

/** Runs a button's action: disabled and relabelled while it runs; if it fails, enabled again
 * and ``failed(error)`` says why (the returned promise never rejects). */
export async function whileBusy(button, busyLabel, action, failed) {
  const label = button.textContent;
  button.disabled = true;
  button.textContent = busyLabel;
  try {
    await action();
  } catch (error) {
    button.disabled = false;
    button.textContent = label;
    failed(error);
  }
}
