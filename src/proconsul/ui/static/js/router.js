// Hash routes: #/services, #/services/<name>, #/nodes, #/nodes/<name>, #/kv/<path>.

import { encodePath } from './api.js';

export const DEFAULT_ROUTE = '#/services';

function decode(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function decodePath(path) {
  return path.split('/').map(decode).join('/');
}

/** The route a hash names, or null for anything else. */
export function parse(hash) {
  const raw = (hash || '').replace(/^#\/?/, '');
  const cut = raw.indexOf('/');
  const head = cut < 0 ? raw : raw.slice(0, cut);
  const rest = cut < 0 ? '' : raw.slice(cut + 1);
  switch (head) {
    case 'services':
      return rest ? { view: 'service', section: 'services', name: decode(rest) } : { view: 'services', section: 'services' };
    case 'nodes':
      return rest ? { view: 'node', section: 'nodes', name: decode(rest) } : { view: 'nodes', section: 'nodes' };
    case 'kv':
      return { view: 'kv', section: 'kv', path: decodePath(rest) };
    default:
      return null;
  }
}

export const links = {
  services: () => '#/services',
  service: (name) => `#/services/${encodeURIComponent(name)}`,
  nodes: () => '#/nodes',
  node: (name) => `#/nodes/${encodeURIComponent(name)}`,
  kv: (path) => `#/kv/${encodePath(path || '')}`,
};

export function navigate(hash) {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = hash;
}
