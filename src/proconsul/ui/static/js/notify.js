// The two global message areas: #status (is the agent reachable?) and #message (results and errors).

const status = () => document.getElementById('status');
const message = () => document.getElementById('message');

let unreachable = false;

/** The agent answered (any HTTP status): hide the banner. */
export function agentReachable() {
  if (!unreachable) return;
  unreachable = false;
  const el = status();
  el.textContent = '';
  el.hidden = true;
}

/** A request could not reach the agent: show the banner until one gets through. */
export function agentUnreachable(detail) {
  const el = status();
  const text = 'Agent unreachable — retrying';
  if (!unreachable || el.textContent !== text) el.textContent = text;
  el.title = detail || '';
  el.hidden = false;
  unreachable = true;
}

export function isUnreachable() {
  return unreachable;
}

/**
 * Show `text` in #message. kind: "error" or "info". actions: [{id, label, onClick}] become buttons
 * after the text. A message stays until it is dismissed or replaced, or the view changes.
 */
export function showMessage(kind, text, actions = []) {
  const el = message();
  el.dataset.kind = kind;
  const body = document.createElement('span');
  body.className = 'message-text';
  body.textContent = text;
  const buttons = actions.map(({ id, label, onClick }) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'button button-small';
    if (id) b.id = id;
    b.textContent = label;
    b.addEventListener('click', onClick);
    return b;
  });
  const close = document.createElement('button');
  close.type = 'button';
  close.className = 'button button-small';
  close.textContent = 'Dismiss';
  close.setAttribute('aria-label', 'Dismiss message');
  close.addEventListener('click', clearMessage);
  el.replaceChildren(body, ...buttons, close);
  el.hidden = false;
}

export function showError(err) {
  showMessage('error', err && err.message ? err.message : String(err));
}

export function clearMessage() {
  const el = message();
  el.replaceChildren();
  el.removeAttribute('data-kind');
  el.hidden = true;
}
