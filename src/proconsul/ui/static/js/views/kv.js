// Key/Value: browse a folder (live), and view, create, edit or delete keys with check-and-set, so a
// save never overwrites a change someone else made after the editor loaded the key.

import { encodePath, request, watch } from '../api.js';
import { h, icon, setTitle } from '../dom.js';
import { clearMessage, showError, showMessage } from '../notify.js';
import { links, navigate } from '../router.js';

function folderOf(path) {
  return path === '' || path.endsWith('/') ? path : path.slice(0, path.lastIndexOf('/') + 1);
}

function parentOf(folder) {
  const trimmed = folder.slice(0, -1);
  return trimmed.slice(0, trimmed.lastIndexOf('/') + 1);
}

/** A KV value (base64) as text; values that are not UTF-8 are shown as base64 and not editable. */
function decodeValue(b64) {
  if (!b64) return { text: '', binary: false };
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes), binary: false };
  } catch {
    return { text: b64, binary: true };
  }
}

function childSignal(parent) {
  const ctl = new AbortController();
  if (parent.aborted) ctl.abort();
  else parent.addEventListener('abort', () => ctl.abort(), { once: true });
  return ctl;
}

function field(label, input, help) {
  return h(
    'div',
    { class: 'field' },
    h('label', { for: input.id }, label),
    input,
    help ? h('p', { class: 'editor-note', id: `${input.id}-help` }, help) : null,
  );
}

export function kvView(root, route, { signal }) {
  setTitle('Key/Value');
  const state = { folder: null, key: undefined, listCtl: null, editorCtl: null, keys: [], loaded: false };

  const crumbs = h('nav', { id: 'kv-crumbs', 'aria-label': 'Folder path' });
  const createBtn = h('button', { type: 'button', id: 'kv-create', class: 'button button-primary' }, 'Create');
  const deleteFolderBtn = h('button', { type: 'button', id: 'kv-delete-folder', class: 'button button-danger' }, 'Delete folder');
  const list = h('ul', { class: 'kv-list', 'data-testid': 'kv', 'aria-label': 'Keys and folders' });
  const pane = h('div', { class: 'kv-editor-pane card' });

  root.append(
    h(
      'section',
      { class: 'page', 'aria-labelledby': 'page-title' },
      h(
        'div',
        { class: 'page-head' },
        h('div', {}, h('h1', { id: 'page-title' }, 'Key/Value'), crumbs),
        h('div', { class: 'toolbar' }, createBtn, deleteFolderBtn),
      ),
      h('div', { class: 'kv-layout' }, h('div', { class: 'card' }, list), pane),
    ),
  );

  // ---- folder listing ----------------------------------------------------------------------
  function renderCrumbs() {
    const parts = state.folder.split('/').filter(Boolean);
    const items = [h('li', {}, h('a', { href: links.kv(''), 'aria-current': parts.length ? null : 'location' }, 'root'))];
    let path = '';
    parts.forEach((part, i) => {
      path += `${part}/`;
      const last = i === parts.length - 1;
      items.push(h('li', {}, h('a', { href: links.kv(path), 'aria-current': last ? 'location' : null }, part)));
    });
    crumbs.replaceChildren(h('ol', {}, items));
    deleteFolderBtn.hidden = state.folder === '';
    setTitle(state.folder || 'root', 'Key/Value');
  }

  function renderList() {
    if (!state.loaded) return;
    const folders = state.keys.filter((k) => k.endsWith('/'));
    const files = state.keys.filter((k) => !k.endsWith('/'));
    const rows = [...folders, ...files].map((k) => {
      const isFolder = k.endsWith('/');
      return h(
        'li',
        {},
        h(
          'a',
          {
            href: links.kv(k),
            'data-key': k,
            class: isFolder ? 'folder' : 'file',
            'aria-current': k === state.key ? 'true' : null,
          },
          icon(isFolder ? 'folder' : 'key'),
          h('span', { class: 'kv-name' }, k.slice(state.folder.length)),
          h('span', { class: 'kind' }, isFolder ? 'folder' : 'key'),
        ),
      );
    });
    if (!rows.length) {
      rows.push(h('li', { class: 'empty' }, state.folder ? 'This folder is empty.' : 'No keys yet: create the first one.'));
    }
    const focused = document.activeElement && list.contains(document.activeElement) ? document.activeElement.dataset.key : null;
    list.replaceChildren(...rows);
    if (focused) {
      const again = [...list.querySelectorAll('a[data-key]')].find((a) => a.dataset.key === focused);
      if (again) again.focus({ preventScroll: true });
    }
  }

  function startList() {
    if (state.listCtl) state.listCtl.abort();
    const ctl = childSignal(signal);
    state.listCtl = ctl;
    state.keys = [];
    state.loaded = false;
    list.replaceChildren(h('li', { class: 'loading' }, 'Loading…'));
    const folder = state.folder;
    watch(
      `/v1/kv/${encodePath(folder)}`,
      { keys: true, separator: '/' },
      (data, res) => {
        state.keys = res.status === 404 || !Array.isArray(data) ? [] : data.filter((k) => k !== folder);
        state.loaded = true;
        renderList();
      },
      {
        signal: ctl.signal,
        accept: [404],
        onError(err) {
          if (!err) return;
          showError(err);
          list.replaceChildren(h('li', { class: 'empty' }, `Could not list ${folder || 'the root folder'}: ${err.message}`));
        },
      },
    );
  }

  // ---- the editor ------------------------------------------------------------------------
  function placeholder() {
    if (state.editorCtl) state.editorCtl.abort();
    state.editorCtl = null;
    pane.replaceChildren(
      h('p', { class: 'placeholder' }, 'Choose a key to view or edit it, or create a new key in this folder.'),
    );
  }

  function openEditor(mode, key) {
    if (state.editorCtl) state.editorCtl.abort();
    const ctl = childSignal(signal);
    state.editorCtl = ctl;
    const ed = { mode, key, index: 0, latest: null, saving: false };

    const title = h('h2', {}, mode === 'create' ? 'New key' : key);
    const note = h('p', { class: 'editor-note', 'aria-live': 'polite' });
    const hint = h('div', { class: 'editor-hint', role: 'status', hidden: true });
    const keyInput = h('input', {
      id: 'kv-key',
      type: 'text',
      required: true,
      autocomplete: 'off',
      spellcheck: 'false',
      'aria-describedby': 'kv-key-help',
    });
    const valueInput = h('textarea', { id: 'kv-value', rows: 14, spellcheck: 'false' });
    const flagsInput = h('input', { id: 'kv-flags', type: 'number', min: '0', step: '1', inputmode: 'numeric' });
    const saveBtn = h('button', { id: 'kv-save', type: 'submit', class: 'button button-primary' }, 'Save');
    const deleteBtn = h('button', { id: 'kv-delete', type: 'button', class: 'button button-danger' }, 'Delete');
    const closeLink = h('a', { class: 'button', href: links.kv(state.folder) }, 'Close');
    const form = h(
      'form',
      { id: 'kv-editor', 'aria-labelledby': 'kv-editor-title' },
      h('div', { class: 'editor-head' }, title, note),
      hint,
      field('Key', keyInput, mode === 'create' ? 'The full key. End it with “/” to create a folder.' : 'The full key.'),
      field('Value', valueInput),
      field('Flags', flagsInput, 'An unsigned integer for your own use (Consul stores it, nothing reads it).'),
      h('div', { class: 'editor-actions' }, saveBtn, closeLink, h('span', { class: 'spacer' }), deleteBtn),
    );
    title.id = 'kv-editor-title';
    pane.replaceChildren(form);

    function setBusy(busy) {
      form.setAttribute('aria-busy', busy ? 'true' : 'false');
      saveBtn.disabled = busy || valueInput.readOnly;
      deleteBtn.disabled = busy;
    }

    function refreshHint() {
      const stale = ed.mode === 'edit' && !ed.saving && ed.latest !== null && ed.latest !== ed.index;
      if (!stale) {
        hint.hidden = true;
        return;
      }
      const gone = ed.latest === 0;
      hint.replaceChildren(
        h('span', {}, gone ? 'Someone else deleted this key since you opened it.' : 'Someone else saved a newer version of this key.'),
        gone
          ? null
          : h('button', { type: 'button', class: 'button button-small', onclick: () => reload() }, 'Load the newer version'),
      );
      hint.hidden = false;
    }

    function fill(entry) {
      ed.index = entry.ModifyIndex;
      keyInput.value = entry.Key;
      flagsInput.value = String(entry.Flags || 0);
      const { text, binary } = decodeValue(entry.Value);
      valueInput.value = text;
      valueInput.readOnly = binary;
      note.className = binary ? 'editor-note warn' : 'editor-note';
      note.textContent = binary
        ? 'The value is binary, shown as base64; it cannot be edited here.'
        : `ModifyIndex ${entry.ModifyIndex}` + (entry.Session ? ` · locked by session ${entry.Session}` : '');
      setBusy(false);
      refreshHint();
    }

    function setMode(newMode) {
      ed.mode = newMode;
      keyInput.readOnly = newMode === 'edit';
      deleteBtn.hidden = newMode === 'create';
      title.textContent = newMode === 'create' ? 'New key' : ed.key;
    }

    /** Load the key's current value and ModifyIndex: what the next save checks against. */
    async function load() {
      setBusy(true);
      const res = await request(`/v1/kv/${encodePath(ed.key)}`, { accept: [404], signal: ctl.signal });
      if (res.status === 404 || !Array.isArray(res.data) || !res.data.length) {
        setMode('create');
        keyInput.value = ed.key;
        valueInput.readOnly = false;
        note.textContent = 'This key does not exist: saving creates it.';
        setBusy(false);
        return false;
      }
      fill(res.data[0]);
      return true;
    }

    async function reload() {
      clearMessage();
      try {
        if (await load()) showMessage('info', `Loaded the current value of ${ed.key}.`);
      } catch (err) {
        if (!ctl.signal.aborted) showError(err);
      }
    }

    function conflict(key, action) {
      const text =
        action === 'create'
          ? `${key} already exists: it was created or changed by someone else meanwhile, so nothing was saved. ` +
            'Reload it to see the current value, then apply your change again.'
          : `${key} was changed by someone else since you opened it, so it was not ${action === 'delete' ? 'deleted' : 'saved'}. ` +
            'Reload it to see the current value, then apply your change again.';
      const onClick = () => {
        if (ed.mode === 'create') {
          clearMessage();
          navigate(links.kv(key));
        } else {
          reload();
        }
      };
      showMessage('error', text, [{ id: 'kv-reload', label: 'Reload current value', onClick }]);
    }

    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const key = ed.mode === 'create' ? keyInput.value : ed.key;
      const flags = flagsInput.value.trim() || '0';
      if (!key.trim()) {
        showMessage('error', 'Enter a key name.');
        keyInput.focus();
        return;
      }
      if (key.startsWith('/')) {
        showMessage('error', 'A key cannot start with “/”.');
        keyInput.focus();
        return;
      }
      if (!/^\d+$/.test(flags)) {
        showMessage('error', 'Flags must be a whole number, 0 or more.');
        flagsInput.focus();
        return;
      }
      const creating = ed.mode === 'create';
      ed.saving = true;
      setBusy(true);
      try {
        const res = await request(`/v1/kv/${encodePath(key)}`, {
          method: 'PUT',
          params: { cas: creating ? 0 : ed.index, flags },
          body: key.endsWith('/') ? '' : valueInput.value,
        });
        if (res.data === true) {
          showMessage('info', `Saved ${key}`);
          if (creating) navigate(links.kv(key));
          else await load();
        } else {
          conflict(key, creating ? 'create' : 'save');
        }
      } catch (err) {
        if (!ctl.signal.aborted) showError(err);
      } finally {
        ed.saving = false;
        if (!ctl.signal.aborted) {
          setBusy(false);
          refreshHint();
        }
      }
    });

    deleteBtn.addEventListener('click', async () => {
      const key = ed.key;
      if (!window.confirm(`Delete the key “${key}”?`)) return;
      setBusy(true);
      try {
        const res = await request(`/v1/kv/${encodePath(key)}`, { method: 'DELETE', params: { cas: ed.index } });
        if (res.data === true) {
          showMessage('info', `Deleted ${key}`);
          navigate(links.kv(folderOf(key)));
        } else {
          conflict(key, 'delete');
        }
      } catch (err) {
        if (!ctl.signal.aborted) showError(err);
      } finally {
        if (!ctl.signal.aborted) setBusy(false);
      }
    });

    setMode(mode);
    if (mode === 'create') {
      keyInput.value = key;
      flagsInput.value = '0';
      keyInput.focus();
      keyInput.setSelectionRange(key.length, key.length);
      return;
    }
    load()
      .then((exists) => {
        if (ctl.signal.aborted) return;
        // Follow the key, only to tell the user a newer version exists; the editor keeps the
        // version it loaded, so a save still checks against it.
        watch(
          `/v1/kv/${encodePath(key)}`,
          {},
          (data, res) => {
            ed.latest = res.status === 404 || !Array.isArray(data) || !data.length ? 0 : data[0].ModifyIndex;
            if (!exists && ed.latest === 0) ed.latest = null;
            refreshHint();
          },
          { signal: ctl.signal, accept: [404] },
        );
      })
      .catch((err) => {
        if (!ctl.signal.aborted) {
          showError(err);
          note.textContent = `Could not load ${key}: ${err.message}`;
        }
      });
  }

  createBtn.addEventListener('click', () => {
    state.key = null;
    // The URL names the folder again, so choosing the key that was open later is a navigation.
    history.replaceState(null, '', links.kv(state.folder));
    renderList();
    openEditor('create', state.folder);
  });

  deleteFolderBtn.addEventListener('click', async () => {
    const folder = state.folder;
    if (!folder || !window.confirm(`Delete the folder “${folder}” and every key under it?`)) return;
    try {
      const res = await request(`/v1/kv/${encodePath(folder)}`, { method: 'DELETE', params: { recurse: true } });
      if (res.data === true) {
        showMessage('info', `Deleted ${folder}`);
        navigate(links.kv(parentOf(folder)));
      } else {
        showMessage('error', `${folder} was not deleted.`);
      }
    } catch (err) {
      showError(err);
    }
  });

  function update(next) {
    const path = next.path || '';
    const folder = folderOf(path);
    const key = path === folder ? null : path;
    const folderChanged = folder !== state.folder;
    if (folderChanged) {
      state.folder = folder;
      renderCrumbs();
      startList();
    }
    if (folderChanged || key !== state.key) {
      state.key = key;
      if (key === null) placeholder();
      else openEditor('edit', key);
      renderList();
    }
    return true;
  }

  update(route);
  return { update };
}
