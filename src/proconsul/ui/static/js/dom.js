// DOM helpers: every piece of API data reaches the page as text (textContent or attributes), never HTML.

/**
 * Create an element. `attrs`: "class", "text", "on<event>" (a listener), anything else becomes an
 * attribute (skipped when null, undefined or false; true gives an empty attribute).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') el.setAttribute('class', value);
    else if (name === 'text') el.textContent = String(value);
    else if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
}

export function append(el, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
const ICONS = {
  passing: ['M4 8.5l2.5 2.5L12 5.5'],
  warning: ['M8 2.2L14.5 13.5h-13z', 'M8 6.5v3.2', 'M8 11.6v.1'],
  critical: ['M4.5 4.5l7 7', 'M11.5 4.5l-7 7'],
  maintenance: ['M3 8h10'],
  unknown: ['M6 6a2 2 0 1 1 2.6 1.9c-.4.2-.6.5-.6.9v.8', 'M8 11.8v.1'],
  folder: ['M1.8 4.2a1 1 0 0 1 1-1h3.4l1.5 1.6h5.5a1 1 0 0 1 1 1v6.9a1 1 0 0 1-1 1H2.8a1 1 0 0 1-1-1z'],
  key: ['M10.5 2.5a3 3 0 1 1-2.2 5L3 12.8V14h2.2v-1.3h1.3v-1.3h1.3L8.8 10.4A3 3 0 0 1 10.5 2.5z', 'M11.2 5h.1'],
  node: ['M2.5 3h11v4h-11z', 'M2.5 9h11v4h-11z', 'M5 5h.1', 'M5 11h.1'],
};

/** A small stroke icon, hidden from assistive technology (the text next to it says the same). */
export function icon(name) {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 16 16');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.setAttribute('fill', 'none');
  svg.setAttribute('stroke', 'currentColor');
  svg.setAttribute('stroke-width', '1.8');
  svg.setAttribute('stroke-linecap', 'round');
  svg.setAttribute('stroke-linejoin', 'round');
  for (const d of ICONS[name] || ICONS.unknown) {
    const path = document.createElementNS(SVG_NS, 'path');
    path.setAttribute('d', d);
    svg.append(path);
  }
  return svg;
}

/**
 * Replace `container`'s children with `nodes`, keeping keyboard focus on the equivalent element when
 * it was inside (matched by the closest ancestor carrying `keyAttr`, then the same tag and href).
 */
export function replaceKeepingFocus(container, nodes, keyAttr) {
  const active = document.activeElement;
  let restore = null;
  if (active && container.contains(active)) {
    const owner = active.closest(`[${keyAttr}]`);
    if (owner) restore = { key: owner.getAttribute(keyAttr), tag: active.tagName, href: active.getAttribute('href') };
  }
  container.replaceChildren(...nodes);
  if (!restore) return;
  for (const owner of container.querySelectorAll(`[${keyAttr}]`)) {
    if (owner.getAttribute(keyAttr) !== restore.key) continue;
    const candidates = [owner, ...owner.querySelectorAll(restore.tag)];
    const target = candidates.find(
      (el) => el.tagName === restore.tag && el.getAttribute('href') === restore.href,
    );
    if (target) target.focus({ preventScroll: true });
    return;
  }
}

/** "10.0.0.1:8080", or the address alone when there is no port. */
export function hostPort(address, port) {
  if (!port) return address || '';
  const host = address && address.includes(':') && !address.startsWith('[') ? `[${address}]` : address;
  return `${host}:${port}`;
}

export function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

export function setTitle(...parts) {
  document.title = [...parts.filter(Boolean), 'proconsul'].join(' · ');
}
