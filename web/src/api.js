// The HTTP API, called cross-origin (the API allows this page's origin through
// PANELFLOW_CORS_ORIGINS). Starting a job goes through it, and so do the links to a job's
// images and audio: the bucket is private, and only GET /jobs/{jobId} hands the job's owner
// short-lived signed links. Everything else the page shows comes from Firestore listeners.

import { getIdToken } from './auth.js';

export class ApiError extends Error {
  /** status 0: the API could not be reached. errors: [{ field, reason }] for a 400. */
  constructor(status, error = {}) {
    super(error.message || `the API answered HTTP ${status}`);
    this.status = status;
    this.code = error.code || 'unknown';
    this.errors = Array.isArray(error.errors)
      ? error.errors
      : error.field
        ? [{ field: error.field, reason: error.message }]
        : [];
  }
}

/** GET /catalogue: styles, languages, limits and job states (no token; cached 5 min). */
export async function getCatalogue(apiUrl) {
  const response = await fetch(`${apiUrl}/catalogue`);
  if (!response.ok) throw new Error(`the API's catalogue answered HTTP ${response.status}`);
  return response.json();
}

/** POST /jobs → { jobId, status, links }; throws ApiError with the API's field errors.
 *
 * One Idempotency-Key per submit: a request lost on a flaky network is sent once more with
 * the same key, so it can never make a second comic. */
export async function startJob(
  config,
  { story, style, styleText, panels, language },
  idempotencyKey,
) {
  const body = { story, style };
  if (typeof styleText === 'string') body.styleText = styleText; // with the custom style
  if (panels !== undefined) body.panels = panels;
  if (language) body.language = language;
  const send = async () =>
    fetch(`${config.apiUrl}/jobs`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${await getIdToken()}`,
        'Content-Type': 'application/json',
        'Idempotency-Key': idempotencyKey,
      },
      body: JSON.stringify(body),
    });
  let response;
  try {
    response = await send().catch(send);
  } catch {
    throw new ApiError(0, {
      code: 'unreachable',
      message: navigator.onLine
        ? `The API at ${config.apiUrl} could not be reached. Is the local stack up?`
        : 'You are offline: connect to the network and press the button again.',
    });
  }
  const answer = await response.json().catch(() => ({}));
  if (response.status !== 202) throw new ApiError(response.status, answer.error);
  return answer;
}

/** GET /jobs/{jobId} → the job with its panels, each image and audio with a signed url and
 * its expiresAt (epoch seconds); throws ApiError. */
export async function getJob(config, jobId) {
  return call(config, `/jobs/${encodeURIComponent(jobId)}`, 'GET', 200);
}

/** POST /jobs/{jobId}:cancel: the job stops; workers make no paid call after they see it. */
export async function cancelJob(config, jobId) {
  return call(config, `/jobs/${encodeURIComponent(jobId)}:cancel`, 'POST', 200);
}

/** DELETE /jobs/{jobId}: the comic, its story, panels, images, audio and cost records. */
export async function deleteJob(config, jobId) {
  return call(config, `/jobs/${encodeURIComponent(jobId)}`, 'DELETE', 204);
}

/** DELETE /me: every comic and record of the signed-in user, then the sign-in itself. */
export async function deleteAccount(config) {
  return call(config, '/me', 'DELETE', 204);
}

/** One authenticated call (with a JSON body when given); throws ApiError unless the API
 * answers the expected status. */
async function call(config, path, method, expected, body) {
  let response;
  try {
    const headers = { Authorization: `Bearer ${await getIdToken()}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    response = await fetch(`${config.apiUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, {
      code: 'unreachable',
      message: `The API at ${config.apiUrl} could not be reached.`,
    });
  }
  const answer = await response.json().catch(() => ({}));
  if (response.status !== expected) throw new ApiError(response.status, answer.error);
  return answer;
}

/** POST /jobs/{jobId}/panels/{index}:regenerate: draws one panel again (a new generation);
 * the job goes back to rendering and the listeners show the rest. Throws ApiError. */
export async function retryPanel(config, jobId, index) {
  return call(config, `/jobs/${encodeURIComponent(jobId)}/panels/${index}:regenerate`, 'POST', 202);
}

/** POST /jobs/{jobId}/shares → { token, url: "/s/{token}", expiresAt }: a read-only link. */
export async function createShare(config, jobId) {
  return call(config, `/jobs/${encodeURIComponent(jobId)}/shares`, 'POST', 201);
}

/** GET /jobs/{jobId}/shares → the job's links that still work. */
export async function listShares(config, jobId) {
  const answer = await call(config, `/jobs/${encodeURIComponent(jobId)}/shares`, 'GET', 200);
  return Array.isArray(answer) ? answer : answer.shares || [];
}

/** DELETE /jobs/{jobId}/shares/{token}: the link stops working at once. */
export async function revokeShare(config, jobId, token) {
  const path = `/jobs/${encodeURIComponent(jobId)}/shares/${encodeURIComponent(token)}`;
  return call(config, path, 'DELETE', 204);
}

/** GET /shares/{token} (no sign-in) → the finished comic; ApiError 404 once the link is
 * malformed, unknown, revoked or expired. */
export async function getShare(config, token) {
  let response;
  try {
    response = await fetch(`${config.apiUrl}/shares/${encodeURIComponent(token)}`);
  } catch {
    throw new ApiError(0, {
      code: 'unreachable',
      message: navigator.onLine
        ? `The API at ${config.apiUrl} could not be reached.`
        : 'You are offline, and this comic was not opened here before.',
    });
  }
  const answer = await response.json().catch(() => ({}));
  if (response.status !== 200) throw new ApiError(response.status, answer.error);
  return answer;
}

/** PATCH /jobs/{jobId}/panels/{index} with the changed fields ({caption?, narration?,
 * dialogue?: [{speaker, text, side}], imagePrompt?}) → 202 and the panel; the panel is spoken
 * or drawn again as needed, and the listeners show it. Throws ApiError (400 naming the field,
 * 409 while the panel is being drawn). */
export async function editPanel(config, jobId, index, changes) {
  const path = `/jobs/${encodeURIComponent(jobId)}/panels/${index}`;
  return call(config, path, 'PATCH', 202, changes);
}

/** POST /jobs/{jobId}/exports {format, layout, panels?} → 202 {exportId, status}; the same
 * request for the same comic gives the same export. Throws ApiError (409: not finished). */
export async function startExport(config, jobId, request) {
  return call(config, `/jobs/${encodeURIComponent(jobId)}/exports`, 'POST', 202, request);
}

/** GET /jobs/{jobId}/exports/{exportId} → the export, with a signed `url` once done. */
export async function getExport(config, jobId, exportId) {
  const path = `/jobs/${encodeURIComponent(jobId)}/exports/${encodeURIComponent(exportId)}`;
  return call(config, path, 'GET', 200);
}
