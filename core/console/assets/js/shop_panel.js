// The contact panel's shop part: the contact's orders in every enabled
// shop (`GET /api/v1/conversations/{id}/orders`, asked once per opened
// conversation, with a Refresh button), an order's details in a dialog,
// and a product search per shop (debounced) whose results can be put into
// the reply as text. Everything the shop says is shown as text; links and
// product pictures only for https addresses (the CSP allows https images,
// which the shop's own image host serves; no referrer is sent to it).

import { h, replace, keepFocus } from './dom.js';
import { t, formatDateTime, formatMoney, formatNumber } from './i18n.js';
import { api, query } from './api.js';
import { toast, errorText } from './state.js';

/** How long the list of shops is kept before it is asked again. */
const SHOPS_TTL_MS = 60000;
/** The pause in typing after which a product search starts. */
const DEBOUNCE_MS = 350;

let shopsCache = null;

/** The enabled shops, kept for a minute (they change rarely). */
async function enabledShops() {
  if (!shopsCache || Date.now() - shopsCache.at > SHOPS_TTL_MS) {
    const { shops } = await api('GET', '/api/v1/shops');
    shopsCache = { at: Date.now(), shops: shops.filter((s) => !s.disabled) };
  }
  return shopsCache.shops;
}

/** `url` if it is an https address, else null (no other scheme is linked). */
function httpsUrl(url) {
  if (!url) return null;
  try {
    return new URL(url).protocol === 'https:' ? url : null;
  } catch {
    return null;
  }
}


/** A shop's error without the shop's name the server puts in front. */
function shopError(name, error) {
  return error.replace(`${name}: `, '');
}

const money = (m) => (m ? formatMoney(m.amount, m.currency) : null);

function statusBadge(order) {
  const label = t(`order.status.${order.status}`);
  return h('span', { class: `order-status order-${order.status}`, title: order.status_label || null },
    order.status_label && order.status_label !== label ? `${label} · ${order.status_label}` : label);
}

/**
 * Draws the shop part into `box` for conversation `conv`. `insert(text)`
 * puts text into the reply box and answers whether there was one.
 */
export function drawShopPanel(box, conv, insert) {
  // Busy while loading; not a live region (a list of orders read out at
  // every load would drown the reply): a shop's failure is an alert.
  const orders = h('div', { id: 'shop-orders', 'aria-busy': 'true' },
    h('p', { class: 'loading', text: t('shop.loading') }));
  const search = h('div', { id: 'product-search' });
  replace(box,
    h('h3', { id: 'shop-orders-title', text: t('shop.orders') }),
    orders,
    search);
  // The search does not wait for the orders (a slow shop) and is drawn
  // once: refreshing the orders keeps what the agent typed.
  const shops = enabledShops().catch(() => null);
  shops.then((list) => { if (list && search.isConnected) drawSearch(search, list, insert); });
  let loading = false;
  const load = async () => {
    if (loading) return;
    loading = true;
    orders.setAttribute('aria-busy', 'true');
    let answer;
    try {
      answer = await api('GET', `/api/v1/conversations/${conv.id}/orders`);
    } catch (e) {
      loading = false;
      if (!orders.isConnected) return;
      orders.setAttribute('aria-busy', 'false');
      keepFocus(orders, () => replace(orders, h('p', { class: 'shop-error', id: 'shop-orders-error', role: 'alert', text: t('shop.failed', { error: errorText(e) }) }), refreshButton(load)));
      return;
    }
    const list = (await shops) || [];
    loading = false;
    // A shop added since the list was kept: ask for the list again next time.
    if (answer.shops.some((s) => !list.some((x) => x.id === s.shop_id))) shopsCache = null;
    if (!orders.isConnected) return;
    orders.setAttribute('aria-busy', 'false');
    const any = list.length || answer.shops.length;
    keepFocus(orders, () => replace(orders, drawOrders(answer, any), any ? refreshButton(load) : null));
  };
  load();
}

function refreshButton(load) {
  return h('button', { type: 'button', class: 'small', id: 'shop-orders-refresh', text: t('shop.refresh'), on: { click: load } });
}

function drawOrders(answer, any) {
  if (!any) return h('p', { class: 'empty', id: 'shop-none', text: t('shop.none_configured') });
  if (!answer.phone) return h('p', { class: 'empty', id: 'shop-no-phone', text: t('shop.no_phone') });
  return answer.shops.map((s) => h('section', { class: 'shop-orders', dataset: { shop: s.shop_id }, 'aria-labelledby': `shop-orders-${s.shop_id}` },
    h('h4', { id: `shop-orders-${s.shop_id}`, text: s.shop_name }),
    s.error
      ? h('p', { class: 'shop-error', role: 'alert', text: t('shop.failed', { error: shopError(s.shop_name, s.error) }) })
      : s.orders.length
        ? h('ul', { class: 'order-list' }, s.orders.map((o) => orderItem(s, o)))
        : h('p', { class: 'empty', text: t('shop.no_orders') })));
}

function itemsText(order) {
  return order.lines.map((l) => t('order.line', { n: formatNumber(l.quantity), title: l.title })).join(', ');
}

function orderItem(shop, order) {
  const total = money(order.total);
  return h('li', { class: 'order', dataset: { order: order.id } },
    h('div', { class: 'order-head' },
      h('button', {
        type: 'button',
        class: 'link-button order-open',
        text: order.number,
        'aria-label': t('order.open', { number: order.number }),
        on: { click: () => openOrder(shop, order) },
      }),
      statusBadge(order)),
    h('p', { class: 'order-meta' },
      order.created_at ? h('time', { datetime: order.created_at, text: formatDateTime(order.created_at) }) : null,
      order.created_at && total ? ' · ' : null,
      total ? h('strong', { class: 'order-total', text: total }) : null),
    order.lines.length ? h('p', { class: 'order-items', text: itemsText(order) }) : null);
}

// ---- an order's details -------------------------------------------------

function trackingList(list) {
  return h('ul', { class: 'tracking-list' }, list.map((tr) => {
    const url = httpsUrl(tr.url);
    const label = tr.company ? `${tr.company}: ${tr.number}` : tr.number;
    return h('li', {}, url ? h('a', { href: url, target: '_blank', rel: 'noopener noreferrer', text: label }) : label);
  }));
}

function orderDetails(order) {
  const total = money(order.total);
  const tracking = [...order.tracking, ...order.lines.flatMap((l) => l.tracking)];
  return [
    h('dl', { class: 'order-facts' },
      order.created_at ? [h('dt', { text: t('order.date') }), h('dd', {}, h('time', { datetime: order.created_at, text: formatDateTime(order.created_at) }))] : null,
      h('dt', { text: t('order.status') }), h('dd', {}, statusBadge(order)),
      order.customer_name ? [h('dt', { text: t('order.customer') }), h('dd', { text: order.customer_name })] : null,
      total ? [h('dt', { text: t('order.total') }), h('dd', {}, h('strong', { id: 'order-total', text: total }))] : null),
    order.lines.length ? h('table', { class: 'order-lines', 'aria-label': t('order.items') },
      h('thead', {}, h('tr', {}, [t('order.item'), t('order.sku'), t('order.quantity'), t('order.unit_price')]
        .map((label) => h('th', { scope: 'col', text: label })))),
      h('tbody', {}, order.lines.map((l) => h('tr', {},
        h('td', { text: l.title }),
        h('td', { text: l.sku || '—' }),
        h('td', { class: 'num', text: formatNumber(l.quantity) }),
        h('td', { class: 'num', text: money(l.unit_price) || '—' }))))) : null,
    tracking.length ? [h('h3', { text: t('order.tracking') }), trackingList(tracking)] : null,
  ];
}

/** The order as listed at once, then as the shop gives it now. */
async function openOrder(shop, listed) {
  const body = h('div', { id: 'order-body' }, orderDetails(listed));
  const note = h('p', { class: 'hint', id: 'order-note', role: 'status', text: t('order.refreshing') });
  const dlg = h('dialog', { id: 'order-dialog', class: 'wide-dialog', 'aria-labelledby': 'order-dialog-title' },
    h('h2', { id: 'order-dialog-title', text: t('order.title', { number: listed.number, shop: shop.shop_name }) }),
    body,
    note,
    h('div', { class: 'buttons' },
      h('button', { type: 'button', id: 'order-dialog-close', text: t('order.close'), on: { click: () => dlg.close() } })));
  const opener = document.activeElement;
  dlg.addEventListener('close', () => {
    dlg.remove();
    if (opener && opener.isConnected) opener.focus({ preventScroll: true });
  });
  document.body.append(dlg);
  dlg.showModal();
  try {
    const { order } = await api('GET', `/api/v1/shops/${shop.shop_id}/orders/${encodeURIComponent(listed.id)}`);
    if (!dlg.isConnected) return;
    replace(body, orderDetails(order));
    note.textContent = '';
  } catch (e) {
    if (dlg.isConnected) note.textContent = t('order.stale', { error: errorText(e) });
  }
}

// ---- product search -----------------------------------------------------

/** The text a product puts into the reply: title, price, address. */
function productText(p) {
  const price = money(p.price);
  let url = null;
  try {
    if (p.url && ['https:', 'http:'].includes(new URL(p.url).protocol)) url = p.url;
  } catch { url = null; }
  return [price ? `${p.title} — ${price}` : p.title, url].filter(Boolean).join('\n');
}

function stockOf(item) {
  if (item.stock === null || item.stock === undefined) return null;
  return item.stock > 0
    ? h('span', { class: 'product-stock', text: t('products.stock', { n: formatNumber(item.stock) }) })
    : h('span', { class: 'product-stock out', text: t('products.out_of_stock') });
}

function variantItem(v) {
  const price = money(v.price);
  return h('li', { class: 'variant', dataset: { variant: v.id } },
    h('span', { class: 'variant-title', text: v.title }),
    price ? h('span', { class: 'product-price', text: price }) : null,
    stockOf(v),
    v.sku ? h('span', { class: 'product-sku', text: t('products.sku', { sku: v.sku }) }) : null);
}

function productItem(p, insert) {
  const url = httpsUrl(p.url);
  const price = money(p.price);
  const stock = stockOf(p);
  const image = httpsUrl(p.image_url);
  return h('li', { class: image ? 'product with-thumb' : 'product', dataset: { product: p.id } },
    // Decorative: the title next to it names the product.
    image ? h('img', {
      class: 'product-thumb',
      src: image,
      alt: '',
      width: 48,
      height: 48,
      loading: 'lazy',
      decoding: 'async',
      referrerPolicy: 'no-referrer',
      // Unreachable (an air-gapped network): an empty tile, not a broken icon.
      on: { error: (e) => e.target.classList.add('thumb-failed') },
    }) : null,
    h('p', { class: 'product-title' },
      url ? h('a', { href: url, target: '_blank', rel: 'noopener noreferrer', text: p.title }) : p.title),
    h('p', { class: 'product-meta' },
      price ? h('strong', { class: 'product-price', text: price }) : null,
      stock,
      p.sku ? h('span', { class: 'product-sku', text: t('products.sku', { sku: p.sku }) }) : null),
    p.variants.length ? h('ul', { class: 'variant-list', 'aria-label': t('products.variants', { title: p.title }) }, p.variants.map(variantItem)) : null,
    h('button', {
      type: 'button',
      class: 'small product-insert',
      text: t('products.insert'),
      'aria-label': t('products.insert_label', { title: p.title }),
      on: {
        click: () => {
          if (insert(productText(p))) toast(t('products.inserted'));
          else toast(t('products.no_composer'), 'error');
        },
      },
    }));
}

function drawSearch(box, shops, insert) {
  if (!shops.length) { replace(box); return; }
  const picker = shops.length > 1
    ? h('select', { id: 'product-shop' },
      shops.map((s) => h('option', { value: String(s.id), text: s.name })))
    : null;
  const shopOf = () => (picker ? shops.find((s) => String(s.id) === picker.value) : shops[0]);
  const input = h('input', {
    id: 'product-query',
    type: 'search',
    maxLength: 200,
    autocomplete: 'off',
    placeholder: t('products.placeholder'),
    'aria-describedby': 'product-status',
  });
  const label = h('label', { for: 'product-query', text: t('products.search', { shop: shopOf().name }) });
  const status = h('p', { class: 'hint', id: 'product-status', role: 'status' });
  const results = h('ul', { class: 'product-list', id: 'product-results' });
  let timer = null;
  let asked = 0;
  let last = '';
  const run = async (force = false) => {
    clearTimeout(timer);
    const q = input.value.trim();
    const key = `${shopOf().id} ${q}`;
    if (!force && key === last) return;
    last = key;
    const mine = ++asked;
    if (!q) { status.textContent = ''; replace(results); return; }
    status.textContent = t('products.searching');
    try {
      const { products } = await api('GET', `/api/v1/shops/${shopOf().id}/products${query({ q, limit: 10 })}`);
      if (mine !== asked) return;
      status.textContent = products.length === 1 ? t('products.found_one')
        : products.length ? t('products.found', { n: formatNumber(products.length) }) : t('products.none', { q });
      replace(results, products.map((p) => productItem(p, insert)));
    } catch (e) {
      if (mine !== asked) return;
      last = '';
      status.textContent = t('products.failed', { error: shopError(shopOf().name, errorText(e)) });
      replace(results);
    }
  };
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(run, DEBOUNCE_MS);
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') { event.preventDefault(); run(true); }
  });
  if (picker) {
    picker.addEventListener('change', () => {
      label.textContent = t('products.search', { shop: shopOf().name });
      run();
    });
  }
  replace(box,
    h('h3', { id: 'product-search-title', text: t('products.title') }),
    h('div', { class: 'product-form', role: 'search', 'aria-labelledby': 'product-search-title' },
      picker ? h('div', { class: 'field' }, h('label', { for: 'product-shop', text: t('products.shop') }), picker) : null,
      h('div', { class: 'field' }, label, input)),
    status,
    results);
}
