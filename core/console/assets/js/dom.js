// Building the DOM without HTML strings: every text goes through
// textContent (or a text node), so nothing a customer writes can become markup.

/**
 * Creates an element. `attrs` keys: `class`, `text` (textContent), `on`
 * (event listeners), `dataset`, and anything else as a property when the
 * element has it (value, disabled, type...) or else as an attribute.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = String(value);
    else if (key === 'on') for (const [ev, fn] of Object.entries(value)) el.addEventListener(ev, fn);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('aria-') || key === 'role' || key === 'for' || key === 'href' || key === 'src') el.setAttribute(key, value === true ? 'true' : String(value));
    else if (key in el) el[key] = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

/** Appends children: nodes, strings (as text), arrays, skipping null/false. */
export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replaces every child of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** The element with this id. */
export const $ = (id) => document.getElementById(id);

/**
 * Runs `redraw`, which replaces what is inside `root`, and gives the focus
 * back to the element with the same id if it had it: live updates must not
 * throw a keyboard user out of the list they are in.
 */
export function keepFocus(root, redraw) {
  const active = document.activeElement;
  const id = active && root.contains(active) ? active.id : '';
  // A text box keeps its caret too (a reply being typed).
  const caret = id && typeof active.selectionStart === 'number' ? [active.selectionStart, active.selectionEnd] : null;
  redraw();
  if (id) {
    const again = document.getElementById(id);
    if (again && again !== document.activeElement) {
      again.focus({ preventScroll: true });
      if (caret && typeof again.selectionStart === 'number') [again.selectionStart, again.selectionEnd] = caret;
    }
  }
}
