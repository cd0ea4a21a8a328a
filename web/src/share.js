// Sharing a finished comic: "Share" makes a read-only link (/s/{token}, unguessable, 30 days
// unless revoked) through the API, hands it to the phone's share sheet where the Web Share
// API exists and copies it otherwise; the owner sees the comic's live links and can stop
// each. The /s/{token} view shows the comic to anyone with the link, signed in or not.

import { ApiError, createShare, getShare, listShares, revokeShare } from './api.js';
import { createReadAlong, panelFigure } from './comic.js';
import { h } from './dom.js';
import { keepForOffline } from './pwa.js';

const SHAREABLE = new Set(['completed', 'partial']);

/** The Share button and the list of links, for the owner's job view. update(job) shows them
 * once the comic is finished. */
export function shareControls(jobId, getConfig) {
  const button = h(
    'button',
    { type: 'button', id: 'share-job', class: 'button button--ghost button--small', hidden: true },
    'Share',
  );
  const status = h('p', { class: 'share-status', role: 'status', 'aria-live': 'polite' });
  const list = h('ul', { id: 'share-links', class: 'share-links', 'aria-label': 'Shared links' });
  const panel = h('div', { class: 'share-panel', hidden: true }, status, list);
  let title = '';
  let listed = false;

  // A link made here shows its address; one listed by the API (which never gives a token
  // back) shows when it was made. Either can be stopped.
  const showLink = (share) => {
    const absolute = share.url ? new URL(share.url, window.location.origin).href : '';
    const until = new Date(share.expiresAt * 1000).toLocaleDateString();
    const made = share.createdAt ? new Date(share.createdAt * 1000).toLocaleString() : '';
    const stop = h(
      'button',
      { type: 'button', class: 'button button--ghost button--small share-revoke' },
      'Stop sharing',
    );
    const item = h(
      'li',
      { dataset: { id: share.id } },
      absolute
        ? h('a', { href: absolute, class: 'share-url', rel: 'noopener' }, absolute)
        : h('span', {}, `A link made ${made}`),
      h('span', { class: 'hint' }, ` works until ${until} `),
      stop,
    );
    stop.addEventListener('click', async () => {
      stop.disabled = true;
      try {
        await revokeShare(getConfig(), jobId, share.token || share.id);
        item.remove();
        status.textContent = 'The link no longer works.';
        panel.hidden = list.children.length === 0 && !status.textContent;
      } catch (error) {
        stop.disabled = false;
        status.textContent = `Could not stop sharing: ${error.message}`;
      }
    });
    list.prepend(item);
    panel.hidden = false;
    return absolute;
  };

  button.addEventListener('click', async () => {
    button.disabled = true;
    status.textContent = 'Making a link…';
    panel.hidden = false;
    try {
      const share = await createShare(getConfig(), jobId);
      const url = showLink(share);
      status.textContent = await handOver(url, title);
    } catch (error) {
      status.textContent = `Could not make a link: ${error.message}`;
    } finally {
      button.disabled = false;
    }
  });

  return {
    button,
    panel,
    update(job) {
      title = job.title || 'A comic';
      button.hidden = !SHAREABLE.has(job.status);
      if (!button.hidden && !listed) {
        listed = true;
        const now = Date.now() / 1000;
        listShares(getConfig(), jobId)
          .then((shares) =>
            shares
              .filter((share) => !share.revoked && share.expiresAt > now)
              .filter((share) => !list.querySelector(`[data-id="${share.id}"]`))
              .reverse() // newest first, each prepended
              .forEach(showLink),
          )
          .catch(() => {}); // the button still works; the list is a convenience
      }
    },
  };
}

/** The phone's share sheet where there is one, the clipboard otherwise; says what happened. */
async function handOver(url, title) {
  if (navigator.share) {
    try {
      await navigator.share({ title, url });
      return 'Link shared. Anyone with it can read this comic.';
    } catch (error) {
      if (error.name === 'AbortError') return 'Link made (not sent). Anyone with it can read.';
      // No share target: fall through to copying.
    }
  }
  try {
    await navigator.clipboard.writeText(url);
    return 'Link copied. Anyone with it can read this comic.';
  } catch {
    return 'Copy the link below. Anyone with it can read this comic.';
  }
}

/** /s/{token}: the shared comic, read-only, for anyone with the link. */
export function mountShared(container, { config, token }) {
  const root = h(
    'article',
    { id: 'shared-view', class: 'job shared', dataset: { token, state: 'loading' } },
    h('p', { class: 'boot' }, 'Loading the comic…'),
  );
  container.append(root);
  let stopped = false;
  getShare(config, token)
    .then((comic) => {
      if (stopped) return;
      root.replaceWith(sharedComic(comic, token));
    })
    .catch((error) => {
      if (stopped) return;
      root.replaceWith(
        error instanceof ApiError && error.status === 404
          ? h(
              'section',
              { id: 'share-invalid', class: 'card notice', role: 'alert' },
              h('h1', {}, 'This link is no longer valid'),
              h(
                'p',
                {},
                'Its owner stopped sharing this comic, or the link has expired. Ask them for a new one.',
              ),
              h('a', { href: '#/', class: 'button button--primary' }, 'Make your own comic'),
            )
          : h(
              'section',
              { id: 'share-problem', class: 'card notice', role: 'alert' },
              h('h1', {}, 'This comic could not be opened'),
              h('p', {}, error.message),
            ),
      );
    });
  return () => {
    stopped = true;
  };
}

function sharedComic(comic, token) {
  const panels = [...(comic.panels || [])].sort((a, b) => a.index - b.index);
  document.title = `${comic.title || 'A comic'} · Panelflow`;
  keepForOffline(
    `share-${token}`,
    panels.flatMap((panel) => [panel.image?.url, panel.audio?.url]).filter(Boolean),
  );
  const language = comic.language || null;
  const grid = h(
    'ol',
    { class: 'panel-grid', 'aria-label': 'Panels' },
    panels.map((panel) => sharedPanel(panel, language)),
  );
  // The same comic module as the owner's view and the CLI's reader: lettering over the
  // art, the whole text, notes, and "Play all" with the read-along.
  const reading = createReadAlong(grid);
  return h(
    'article',
    {
      id: 'shared-view',
      class: 'job shared',
      lang: language,
      dataset: { token, state: 'shown', total: panels.length },
    },
    h(
      'header',
      { class: 'job-head' },
      h(
        'div',
        {},
        h('p', { class: 'eyebrow', lang: 'en' }, 'A shared comic · read-only'),
        h('h1', { class: 'job-title' }, comic.title || 'A comic'),
      ),
    ),
    reading.controls,
    grid,
  );
}

function sharedPanel(panel, language) {
  return h(
    'li',
    { class: 'panel panel--done', dataset: { index: panel.index } },
    panelFigure(panel, {
      imageUrl: panel.image?.url,
      audioUrl: panel.audio?.url,
      language,
      badge: h('span', { class: 'panel-number' }, String(panel.index + 1)),
    }),
  );
}
