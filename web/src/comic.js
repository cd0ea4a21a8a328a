// The comic itself, drawn the same way in the web client and in the CLI's standalone reader
// (cli/panelflow_cli/templates/comic.js is a link to this file): each panel's lettering as
// live text over its image (captions and speech bubbles: crisp at any size, selectable), the
// full text beside it, and "Play all", which plays the panels' audio in order and highlights
// the line being spoken. No imports and no network: the reader inlines this module into one
// HTML file that works offline.

// Languages written right to left.
const RTL = new Set(['ar', 'he', 'fa', 'ur', 'yi', 'ps', 'sd', 'ug']);
const SIDES = new Set(['left', 'right', 'center']);
// How long "Play all" shows a panel that has nothing to play before moving on.
export const SILENT_PANEL_MS = 4000;

/** "rtl" for languages written right to left ("ar", "he-IL"), "ltr" otherwise. */
export function textDirection(language) {
  const base = String(language || '')
    .toLowerCase()
    .split(/[-_]/)[0];
  return RTL.has(base) ? 'rtl' : 'ltr';
}

function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') element.className = value;
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

function sideOf(line) {
  return SIDES.has(line.side) ? line.side : 'center';
}

/** The texts a panel shows, each with the key its elements carry in ``data-line``:
 * ``caption``, ``narration`` (both spoken by the narrator) and ``d0``, ``d1``… */
export function shownLines(panel) {
  const lines = [];
  for (const key of ['caption', 'narration']) {
    if (panel[key]) lines.push({ key, speaker: 'narrator', text: panel[key] });
  }
  (panel.dialogue || []).forEach((line, index) => {
    if (String(line.text || '').trim()) {
      lines.push({ key: `d${index}`, speaker: line.speaker, text: line.text });
    }
  });
  return lines;
}

function sameSpeaker(shown, spoken) {
  const narrator = !spoken.speaker || spoken.speaker === 'narrator';
  return narrator ? shown.speaker === 'narrator' : shown.speaker === spoken.speaker;
}

/**
 * The panel's spoken lines in order, each with ``startMs``/``endMs`` and the ``key`` of the
 * text it reads. The audio's own ``lines`` (measured when it was made) come first; an audio
 * without them (made before they existed) is read as the pipeline speaks it: the narration,
 * or the caption when there is none, then each dialogue line, its duration shared out by
 * length.
 */
export function timedLines(panel, durationMs) {
  const shown = shownLines(panel);
  const measured = panel.audio?.lines;
  if (Array.isArray(measured) && measured.length) {
    const unused = [...shown];
    return measured.map((line) => {
      const text = String(line.text || '').trim();
      let at = unused.findIndex((item) => sameSpeaker(item, line) && item.text.trim() === text);
      if (at < 0) at = unused.findIndex((item) => sameSpeaker(item, line));
      const match = at >= 0 ? unused.splice(at, 1)[0] : null;
      return {
        key: match ? match.key : null,
        speaker: line.speaker || 'narrator',
        text: line.text,
        startMs: Number(line.startMs) || 0,
        endMs: Number(line.endMs) || 0,
      };
    });
  }
  const narrated = panel.narration ? 'narration' : 'caption';
  const spoken = shown.filter((line) => line.speaker !== 'narrator' || line.key === narrated);
  const total = Number(durationMs || panel.audio?.durationMs) || 0;
  const weight = spoken.reduce((sum, line) => sum + Math.max(1, line.text.length), 0);
  let start = 0;
  return spoken.map((line) => {
    const length = weight ? (total * Math.max(1, line.text.length)) / weight : 0;
    const timed = { ...line, startMs: start, endMs: start + length };
    start += length;
    return timed;
  });
}

/** The line being spoken at ``ms`` into the audio, or null between and after lines. */
export function lineAt(lines, ms) {
  return lines.find((line) => ms >= line.startMs && ms < line.endMs) || null;
}

/**
 * The lettering over a panel's image: the caption box (the narration when there is no
 * caption) and one speech bubble per dialogue line, placed on the side where its speaker
 * stands. Live text, so it stays crisp and selectable; hidden from screen readers, which
 * read the same words in the full text beside the image.
 */
export function letteringLayer(panel, language) {
  const dir = textDirection(language);
  const boxKey = panel.caption ? 'caption' : panel.narration ? 'narration' : null;
  // The narrator's box: lit whenever the narrator speaks, caption or narration.
  const bubbles = (panel.dialogue || [])
    .map((line, index) => ({ line, index }))
    .filter(({ line }) => String(line.text || '').trim())
    .map(({ line, index }) =>
      el(
        'p',
        {
          class: `bubble bubble--${sideOf(line)}`,
          'data-line': `d${index}`,
          'data-side': sideOf(line),
          'data-speaker': line.speaker || '',
          dir,
        },
        line.text,
      ),
    );
  return el(
    'div',
    { class: 'lettering', lang: language || null, dir, 'aria-hidden': 'true' },
    boxKey
      ? el(
          'p',
          { class: 'lettering-caption', 'data-line': 'caption narration', dir },
          panel[boxKey],
        )
      : null,
    el('div', { class: 'lettering-bubbles' }, bubbles),
  );
}

/** The panel's whole text, nothing shortened: caption, narration, each dialogue line with its
 * speaker, and any note (such as a voice that cannot speak the comic's language). */
export function panelText(panel, language) {
  const dir = textDirection(language);
  const dialogue = (panel.dialogue || []).filter((line) => String(line.text || '').trim());
  // A narration that only repeats the caption is shown once.
  const repeated = Boolean(panel.caption) && panel.narration === panel.caption;
  return el(
    'div',
    { class: 'comic-text', lang: language || null, dir },
    panel.caption
      ? el(
          'p',
          { class: 'caption', 'data-line': repeated ? 'caption narration' : 'caption' },
          panel.caption,
        )
      : null,
    panel.narration && !repeated
      ? el('p', { class: 'narration', 'data-line': 'narration' }, panel.narration)
      : null,
    dialogue.length
      ? el(
          'ul',
          { class: 'dialogue' },
          (panel.dialogue || []).map((line, index) =>
            String(line.text || '').trim()
              ? el(
                  'li',
                  { 'data-line': `d${index}`, 'data-side': sideOf(line) },
                  el('b', { class: 'speaker' }, line.speaker || 'Narrator'),
                  ' ',
                  el('span', { class: 'line-text' }, line.text),
                )
              : null,
          ),
        )
      : null,
    (panel.notes || []).map((note) =>
      el('p', { class: 'panel-note', 'data-code': note.code || '' }, note.message || note.code),
    ),
  );
}

/**
 * A finished panel: its art (image, lettering layer, and ``badge`` when given), its full
 * text and its audio player. ``figure.comicPanel`` keeps the panel for "Play all".
 */
export function panelFigure(panel, { imageUrl, audioUrl, language, badge, placeholder }) {
  const number = panel.index + 1;
  const image = imageUrl
    ? el('img', {
        src: imageUrl,
        alt: panel.scene || panel.caption || `Panel ${number}`,
        width: panel.image?.width,
        height: panel.image?.height,
        // Eager: a comic is read through (and Play all scrolls to every panel), and a card
        // drawn again with fresh links must not wait for the reader to scroll to it.
        decoding: 'async',
      })
    : el('div', { class: 'panel-placeholder' }, placeholder || 'No image');
  const figure = el(
    'figure',
    { class: 'comic-panel', 'data-index': panel.index },
    el('div', { class: 'panel-art' }, badge, image, letteringLayer(panel, language)),
    el(
      'figcaption',
      {},
      panelText(panel, language),
      audioUrl
        ? el('audio', {
            controls: true,
            preload: 'none',
            src: audioUrl,
            'aria-label': `Narration of panel ${number}`,
          })
        : null,
    ),
  );
  figure.comicPanel = panel;
  return figure;
}

function reducedMotion() {
  return window.matchMedia?.('(prefers-reduced-motion: reduce)').matches;
}

const IGNORED_KEY_TARGETS = new Set(['INPUT', 'TEXTAREA', 'SELECT', 'AUDIO', 'VIDEO']);

/**
 * "Play all": plays the finished panels under ``list`` in order (``figure.comic-panel``
 * elements, looked up again at every step, so panels that arrive later are played too),
 * highlights the line being spoken (class ``is-speaking`` and ``aria-current``, in the
 * lettering and in the text), scrolls to the panel playing and announces each line in a
 * polite live region. A panel with no audio shows its note for ``silentMs``, then the next
 * one plays.
 *
 * Keys: Space or Enter on "Play all" plays, pauses and resumes; with focus on the controls or
 * in the comic, ← / ↑ go to the previous panel, → / ↓ to the next, Escape stops.
 *
 * Returns ``{ controls, stop }``: the controls to place above the panels, and a function that
 * stops playing and removes the listeners.
 */
export function createReadAlong(list, { silentMs = SILENT_PANEL_MS } = {}) {
  const play = el(
    'button',
    { type: 'button', class: 'button button--primary readalong-play', 'aria-controls': list.id },
    'Play all',
  );
  const previous = el(
    'button',
    { type: 'button', class: 'button button--small readalong-previous', disabled: true },
    el('span', { 'aria-hidden': 'true' }, '←'),
    ' Previous',
  );
  const next = el(
    'button',
    { type: 'button', class: 'button button--small readalong-next', disabled: true },
    'Next ',
    el('span', { 'aria-hidden': 'true' }, '→'),
  );
  previous.setAttribute('aria-label', 'Previous panel');
  next.setAttribute('aria-label', 'Next panel');
  const status = el('p', {
    class: 'readalong-status',
    role: 'status',
    'aria-live': 'polite',
    'aria-atomic': 'true',
  });
  const hint = el(
    'p',
    { class: 'readalong-keys hint', id: `${list.id || 'comic'}-keys` },
    'Space or Enter: play or pause · ← →: previous or next panel · Esc: stop',
  );
  play.setAttribute('aria-describedby', hint.id);
  const controls = el(
    'div',
    {
      class: 'readalong',
      // Its words are the app's (English), whatever the comic's language and direction.
      lang: 'en',
      dir: 'ltr',
      role: 'group',
      'aria-label': 'Read along',
      'data-state': 'idle',
      'data-panel': '',
      'data-line': '',
    },
    el('div', { class: 'readalong-buttons' }, previous, play, next),
    status,
    hint,
  );

  let state = 'idle'; // idle | playing | paused | done
  let current = null; // the figure playing
  let audio = null; // its audio, when it has one
  let lines = [];
  let speaking = null; // key of the line highlighted
  let silentTimer = null;
  let silentLeft = 0;
  let silentSince = 0;
  let frame = null;

  const figures = () => [...list.querySelectorAll('figure.comic-panel')];
  const holder = (figure) => figure.closest('li') || figure;

  function setState(value) {
    state = value;
    controls.dataset.state = value;
    play.textContent = value === 'playing' ? 'Pause' : value === 'paused' ? 'Resume' : 'Play all';
    const active = value === 'playing' || value === 'paused';
    previous.disabled = !active;
    next.disabled = !active;
  }

  function highlight(line) {
    const key = line ? line.key : null;
    if (key === speaking && current) return;
    for (const element of list.querySelectorAll('.is-speaking')) {
      element.classList.remove('is-speaking');
      element.removeAttribute('aria-current');
    }
    speaking = key;
    controls.dataset.line = key || '';
    if (!current || !key) return;
    for (const element of current.querySelectorAll(`[data-line~="${key}"]`)) {
      element.classList.add('is-speaking');
      element.setAttribute('aria-current', 'true');
    }
    const who = line.speaker && line.speaker !== 'narrator' ? `${line.speaker}: ` : '';
    status.textContent = `Panel ${current.comicPanel.index + 1}: ${who}${line.text}`;
  }

  function tick() {
    if (!audio || !current) return;
    if (!lines.length || (Number.isFinite(audio.duration) && !lines.measured)) {
      lines = timedLines(current.comicPanel, (audio.duration || 0) * 1000);
      lines.measured = Boolean(current.comicPanel.audio?.lines?.length);
    }
    highlight(lineAt(lines, audio.currentTime * 1000));
  }

  function loop() {
    tick();
    frame = state === 'playing' && audio ? requestAnimationFrame(loop) : null;
  }

  function leave() {
    clearTimeout(silentTimer);
    silentTimer = null;
    cancelAnimationFrame(frame);
    if (audio) {
      audio.removeEventListener('timeupdate', tick);
      audio.removeEventListener('ended', onEnded);
      audio.removeEventListener('pause', onPaused);
      audio.removeEventListener('play', onPlayed);
      audio.pause();
      audio.currentTime = 0;
    }
    highlight(null);
    if (current) {
      holder(current).classList.remove('is-playing');
      holder(current).removeAttribute('aria-current');
    }
    audio = null;
    current = null;
    lines = [];
  }

  function onEnded() {
    advance(1);
  }

  // The panel's own player paused it (not "Play all"): "Play all" pauses with it.
  function onPaused() {
    if (state === 'playing' && audio && !audio.ended) {
      setState('paused');
      cancelAnimationFrame(frame);
    }
  }

  function onPlayed() {
    if (state === 'paused') {
      setState('playing');
      loop();
    }
  }

  function enter(figure) {
    leave();
    current = figure;
    const panel = figure.comicPanel;
    const total = figures().length;
    const item = holder(figure);
    item.classList.add('is-playing');
    item.setAttribute('aria-current', 'step');
    controls.dataset.panel = String(panel.index);
    // Its top just under the controls, which stay at the top of the screen.
    item.style.scrollMarginTop = `${controls.offsetHeight + 16}px`;
    item.scrollIntoView({ behavior: reducedMotion() ? 'auto' : 'smooth', block: 'start' });
    const position = figures().indexOf(figure) + 1;
    status.textContent = `Panel ${panel.index + 1} (${position} of ${total})`;
    const candidate = figure.querySelector('audio');
    if (candidate && candidate.getAttribute('src')) {
      audio = candidate;
      lines = timedLines(panel, panel.audio?.durationMs);
      lines.measured = Boolean(panel.audio?.lines?.length);
      audio.addEventListener('timeupdate', tick);
      audio.addEventListener('ended', onEnded);
      audio.addEventListener('pause', onPaused);
      audio.addEventListener('play', onPlayed);
      audio.currentTime = 0;
      const started = audio.play();
      if (started) {
        started.then(loop, () => {
          // The audio could not play (gone, or refused): shown like a panel without audio.
          if (current === figure && state === 'playing') silent(figure, 'its audio did not play');
        });
      }
    } else {
      silent(figure, panel.notes?.[0]?.message || 'it has no narration');
    }
  }

  function silent(figure, reason) {
    if (audio) {
      audio.removeEventListener('pause', onPaused);
      audio = null;
    }
    status.textContent = `Panel ${figure.comicPanel.index + 1} is shown without sound: ${reason}`;
    controls.dataset.silent = 'true';
    silentLeft = silentMs;
    runSilentTimer();
  }

  function runSilentTimer() {
    silentSince = Date.now();
    silentTimer = setTimeout(() => {
      delete controls.dataset.silent;
      advance(1);
    }, silentLeft);
  }

  function advance(step) {
    const all = figures();
    if (!all.length) return finish();
    const index = current ? current.comicPanel.index : step > 0 ? -Infinity : Infinity;
    const after = step > 0 ? all.filter((f) => f.comicPanel.index > index) : [];
    const before = step < 0 ? all.filter((f) => f.comicPanel.index < index) : [];
    const target = step > 0 ? after[0] : before[before.length - 1] || current || all[0];
    if (!target) return finish();
    setState('playing');
    enter(target);
  }

  function finish() {
    leave();
    delete controls.dataset.silent;
    controls.dataset.panel = '';
    setState('done');
    status.textContent = 'End of the comic.';
  }

  function start() {
    const all = figures();
    if (!all.length) {
      status.textContent = 'No finished panel to play yet.';
      return;
    }
    setState('playing');
    enter(all[0]);
  }

  function pause() {
    setState('paused');
    if (audio) audio.pause();
    if (silentTimer) {
      clearTimeout(silentTimer);
      silentTimer = null;
      silentLeft = Math.max(0, silentLeft - (Date.now() - silentSince));
    }
    cancelAnimationFrame(frame);
    status.textContent = `Paused at panel ${current ? current.comicPanel.index + 1 : ''}.`;
  }

  function resume() {
    if (!current) return start();
    setState('playing');
    if (audio) audio.play().then(loop, () => silent(current, 'its audio did not play'));
    else runSilentTimer();
  }

  function stop() {
    leave();
    delete controls.dataset.silent;
    controls.dataset.panel = '';
    setState('idle');
  }

  play.addEventListener('click', () => {
    if (state === 'playing') pause();
    else if (state === 'paused') resume();
    else start();
  });
  previous.addEventListener('click', () => advance(-1));
  next.addEventListener('click', () => advance(1));

  function onKey(event) {
    if (IGNORED_KEY_TARGETS.has(event.target.tagName) || event.target.isContentEditable) return;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const step = { ArrowLeft: -1, ArrowUp: -1, ArrowRight: 1, ArrowDown: 1 }[event.key];
    if (step && (state === 'playing' || state === 'paused')) {
      event.preventDefault();
      advance(step);
    } else if (event.key === 'Escape' && state !== 'idle') {
      event.preventDefault();
      stop();
    }
  }
  controls.addEventListener('keydown', onKey);
  list.addEventListener('keydown', onKey);

  return {
    controls,
    stop() {
      stop();
      controls.removeEventListener('keydown', onKey);
      list.removeEventListener('keydown', onKey);
    },
  };
}
