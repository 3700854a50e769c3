// The storefront: a small single-page app over the shop's API (/api/*, forwarded by the web tier).
// Text from the API is only ever set as textContent, never as HTML.
"use strict";

const COUNTRIES = ["US", "CA", "MX", "BR", "GB", "DE", "FR", "KR"];
let me = null; // {customer_id, display_name, seller, csrf_token} once logged in
let categories = []; // the shop's categories, in its order: GET /api/categories at the start

function h(tag, attributes, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (value === true) element.setAttribute(name, "");
    else if (value !== false && value !== null && value !== undefined) element.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

function say(text, ok) {
  const box = document.getElementById("message");
  box.textContent = text || "";
  box.className = ok ? "ok" : "";
}

async function api(method, path, body, headers) {
  const options = { method, credentials: "same-origin", headers: { ...(headers || {}) } };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  if (me && method !== "GET") options.headers["X-CSRF-Token"] = me.csrf_token;
  const response = await fetch("/api" + path, options);
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (error) { data = { message: text }; }
  return { status: response.status, ok: response.ok, data };
}

function problem(answer) {
  if (answer.data && Array.isArray(answer.data.detail)) {
    return answer.data.detail.map((d) => `${d.loc.slice(1).join(".")}: ${d.msg}`).join("; ");
  }
  return (answer.data && answer.data.message) || `error ${answer.status}`;
}

function money(amount, currency) { return `${amount} ${currency}`; }

function show(...nodes) {
  const main = document.getElementById("main");
  main.replaceChildren(...nodes);
}

function nav() {
  const links = [h("a", { href: "#/" }, "Shop")];
  if (me) {
    if (me.seller) links.push(h("a", { href: "#/sell", id: "nav-sell" }, "Sell"));
    links.push(h("a", { href: "#/cart", id: "nav-cart" }, "Cart"), h("a", { href: "#/orders" }, "Orders"));
    links.push(h("span", { id: "whoami" }, ` ${me.display_name || "you"}`));
    links.push(h("button", { id: "logout", onclick: logOut }, "Log out"));
  } else {
    links.push(h("a", { href: "#/login", id: "nav-login" }, "Log in"), h("a", { href: "#/signup", id: "nav-signup" }, "Sign up"));
  }
  document.getElementById("nav").replaceChildren(...links);
}

async function logOut() {
  await api("POST", "/logout");
  me = null;
  nav();
  location.hash = "#/";
  say("Logged out.", true);
}

function field(label, input) { return h("label", {}, label, input); }

// ------------------------------------------------------------------ pages

async function catalogue(params) {
  const search = h("input", { id: "search", type: "search", placeholder: "Search", value: params.get("q") || "" });
  const category = h("select", { id: "category" }, h("option", { value: "" }, "All"),
    categories.map((c) => h("option", { value: c, selected: params.get("category") === c }, c)));
  const grid = h("div", { class: "grid", id: "products" });
  const more = h("button", { id: "more", hidden: true }, "More");
  let cursor = null;
  async function load() {
    const query = new URLSearchParams({ limit: "12" });
    if (search.value) query.set("q", search.value);
    if (category.value) query.set("category", category.value);
    if (cursor) query.set("cursor", cursor);
    const answer = await api("GET", "/products?" + query);
    if (!answer.ok) return say(problem(answer));
    for (const p of answer.data.items) {
      grid.append(h("a", { class: "card product", href: `#/product/${p.product_id}` },
        p.image_url ? h("img", { src: p.image_url, alt: "" }) : null,
        h("div", {}, p.name), h("div", { class: "price" }, money(p.price, p.currency))));
    }
    cursor = answer.data.next_cursor;
    more.hidden = !cursor;
    if (!grid.children.length) grid.append(h("p", {}, "Nothing found."));
  }
  const filters = h("form", { class: "filters", onsubmit: (e) => {
    e.preventDefault();
    location.hash = "#/?" + new URLSearchParams({ q: search.value, category: category.value });
  } }, search, category, h("button", { type: "submit" }, "Go"));
  more.addEventListener("click", load);
  show(filters, grid, more);
  await load();
}

async function productPage(id) {
  const answer = await api("GET", `/products/${id}`);
  if (!answer.ok) return show(h("p", {}, problem(answer)));
  const p = answer.data;
  const quantity = h("input", { id: "quantity", type: "number", min: "1", max: "99", value: "1" });
  const add = h("button", { id: "add-to-cart", class: "primary", onclick: async () => {
    if (!me) { location.hash = "#/login"; return; }
    const put = await api("PUT", `/cart/${p.product_id}`, { quantity: Number(quantity.value) });
    if (put.ok) say(`${p.name} is in your cart.`, true); else say(problem(put));
  } }, "Add to cart");
  const reviews = await api("GET", `/products/${id}/reviews`);
  show(h("div", { class: "detail" },
    p.image_urls.map((url) => h("img", { src: url, alt: p.name })),
    h("h1", { id: "product-name" }, p.name),
    h("p", { class: "price" }, money(p.price, p.currency)),
    h("p", {}, p.description || ""),
    h("p", {}, `${p.stock} in stock` + (p.rating ? ` · ${p.rating.toFixed(1)}★ (${p.reviews})` : "")),
    p.stock > 0 ? h("div", {}, field("Quantity", quantity), add) : h("p", {}, "Sold out"),
    h("h2", {}, "Reviews"),
    (reviews.ok ? reviews.data.reviews : []).map((r) => h("p", { class: "review" }, `${"★".repeat(r.rating)} ${r.body || ""} — ${r.display_name || ""}`))));
}

function signUpPage() {
  const email = h("input", { id: "signup-email", type: "email", required: true, autocomplete: "email" });
  const password = h("input", { id: "signup-password", type: "password", required: true, minlength: "10", autocomplete: "new-password" });
  const name = h("input", { id: "signup-name", maxlength: "80" });
  const country = h("select", { id: "signup-country" }, COUNTRIES.map((c) => h("option", { value: c }, c)));
  const seller = h("input", { id: "signup-seller", type: "checkbox" });
  show(h("h1", {}, "Sign up"), h("form", { id: "signup-form", onsubmit: async (e) => {
    e.preventDefault();
    const answer = await api("POST", "/signup", { email: email.value, password: password.value,
      display_name: name.value || null, country: country.value, seller: seller.checked });
    if (!answer.ok) return say(problem(answer));
    say(answer.data.message, true);
    location.hash = "#/login";
  } }, field("E-mail", email), field("Password (10 or more characters)", password), field("Name", name),
  field("Country", country), h("label", {}, seller, " I want to sell"), h("button", { id: "signup-submit", class: "primary" }, "Sign up")));
}

// The link mailed at sign-up: #confirm=<token>. Its password, the one chosen at that sign-up, makes
// the account (a link someone else asked for sets nobody's password).
function confirmPage(token) {
  const password = h("input", { id: "confirm-password", type: "password", required: true, autocomplete: "current-password" });
  show(h("h1", {}, "Confirm your e-mail"), h("form", { id: "confirm-form", onsubmit: async (e) => {
    e.preventDefault();
    const answer = await api("POST", "/signup/confirm", { token, password: password.value });
    if (!answer.ok) return say(problem(answer));
    say(answer.data.message, true);
    location.hash = "#/login";
  } }, field("The password you chose at sign-up", password), h("button", { id: "confirm-submit", class: "primary" }, "Confirm")));
}

function logInPage() {
  const email = h("input", { id: "login-email", type: "email", required: true, autocomplete: "email" });
  const password = h("input", { id: "login-password", type: "password", required: true, autocomplete: "current-password" });
  show(h("h1", {}, "Log in"), h("form", { id: "login-form", onsubmit: async (e) => {
    e.preventDefault();
    const answer = await api("POST", "/login", { email: email.value, password: password.value });
    if (!answer.ok) return say(problem(answer));
    me = answer.data;
    nav();
    say(`Welcome, ${me.display_name || "back"}.`, true);
    location.hash = "#/";
  } }, field("E-mail", email), field("Password", password), h("button", { id: "login-submit", class: "primary" }, "Log in")));
}

function sellPage() {
  const name = h("input", { id: "sell-name", required: true, maxlength: "200" });
  const description = h("textarea", { id: "sell-description", maxlength: "5000" });
  const category = h("select", { id: "sell-category" }, categories.map((c) => h("option", { value: c }, c)));
  const price = h("input", { id: "sell-price", required: true, pattern: "(0{0,7}[1-9][0-9]{0,7}(\\.[0-9]{1,2})?|0{1,8}\\.(0[1-9]|[1-9][0-9]?))", placeholder: "39.90" });
  const stock = h("input", { id: "sell-stock", type: "number", min: "0", value: "1" });
  const files = h("input", { id: "sell-images", type: "file", multiple: true, accept: "image/jpeg,image/png,image/webp" });
  show(h("h1", {}, "Sell a product"), h("form", { id: "sell-form", onsubmit: async (e) => {
    e.preventDefault();
    const images = [...files.files].slice(0, 5);
    const answer = await api("POST", "/products", { name: name.value, description: description.value || null,
      category: category.value, price: price.value, stock: Number(stock.value), images: images.map((f) => f.type) });
    if (!answer.ok) return say(problem(answer));
    // Each image goes straight to S3 with its presigned POST; the shop never carries the bytes.
    for (const [index, upload] of answer.data.uploads.entries()) {
      const form = new FormData();
      for (const [key, value] of Object.entries(upload.fields)) form.append(key, value);
      form.append("file", images[index]);
      await fetch(upload.url, { method: "POST", body: form });
    }
    say(`Posted ${answer.data.product.name}.`, true);
    location.hash = `#/product/${answer.data.product.product_id}`;
  } }, field("Name", name), field("Description", description), field("Category", category), field("Price (USD)", price),
  field("Stock", stock), field("Images", files), h("button", { id: "sell-submit", class: "primary" }, "Post for sale")));
}

async function cartPage() {
  const answer = await api("GET", "/cart");
  if (!answer.ok) return show(h("p", {}, problem(answer)));
  const lines = answer.data.lines;
  // One key per visit of this page: a double click on the button places one order.
  const key = crypto.randomUUID();
  const place = h("button", { id: "place-order", class: "primary", onclick: async () => {
    place.disabled = true;
    const order = await api("POST", "/orders", undefined, { "Idempotency-Key": key });
    place.disabled = false;
    if (!order.ok) return say(problem(order));
    location.hash = `#/orders/${order.data.order_id}`;
  } }, "Place order");
  show(h("h1", {}, "Cart"), lines.length ? h("table", {},
    lines.map((l) => h("tr", { class: "cart-line" }, h("td", {}, l.name), h("td", {}, `× ${l.quantity}`), h("td", {}, money(l.price, l.currency))))) : h("p", {}, "Your cart is empty."),
  lines.length ? place : null);
}

async function orderPage(id) {
  const answer = await api("GET", `/orders/${id}`);
  if (!answer.ok) return show(h("p", {}, problem(answer)));
  const order = answer.data;
  const rows = order.lines.map((l) => h("tr", {}, h("td", {}, l.name), h("td", {}, `× ${l.quantity}`),
    h("td", {}, money(l.unit_price, order.currency)), h("td", {}, l.status),
    h("td", {}, l.status === "paid" && !l.reviewed ? reviewForm(l, id) : "")));
  const parts = [h("h1", {}, "Order"), h("p", {}, "Status: ", h("span", { id: "order-status", class: "status" }, order.status)),
    h("table", {}, rows), h("p", { class: "price" }, `Total ${money(order.total, order.currency)}`)];
  if (order.status === "pending") parts.push(paymentForm(order));
  show(...parts);
}

function paymentForm(order) {
  const number = h("input", { id: "pay-card", inputmode: "numeric", autocomplete: "cc-number", placeholder: "4242 4242 4242 4242" });
  const month = h("input", { id: "pay-month", type: "number", min: "1", max: "12", placeholder: "MM" });
  const year = h("input", { id: "pay-year", type: "number", min: "2000", max: "2100", placeholder: "YYYY" });
  const cvc = h("input", { id: "pay-cvc", inputmode: "numeric", autocomplete: "cc-csc", placeholder: "CVC" });
  const key = crypto.randomUUID(); // the same for every click on this form: the order is paid once
  const submit = h("button", { id: "pay-submit", class: "primary" }, `Pay ${money(order.total, order.currency)}`);
  return h("form", { id: "pay-form", onsubmit: async (e) => {
    e.preventDefault();
    submit.disabled = true;
    const answer = await api("POST", `/orders/${order.order_id}/payment`, { card_number: number.value.replace(/\s+/g, ""),
      expiry_month: Number(month.value), expiry_year: Number(year.value), cvc: cvc.value }, { "Idempotency-Key": key });
    submit.disabled = false;
    if (answer.status === 201) { say("Paid. Thank you!", true); return orderPage(order.order_id); }
    if (answer.status === 402) return say(`Declined: ${answer.data.decline_reason}. Try another card.`);
    say(problem(answer));
  } }, h("h2", {}, "Pay"), field("Card number", number), field("Expiry month", month), field("Expiry year", year),
  field("CVC", cvc), submit);
}

function reviewForm(line, orderId) {
  const rating = h("select", { class: "review-rating" }, [5, 4, 3, 2, 1].map((r) => h("option", { value: String(r) }, "★".repeat(r))));
  const body = h("input", { class: "review-body", maxlength: "5000", placeholder: "Your review" });
  return h("form", { class: "review-form", onsubmit: async (e) => {
    e.preventDefault();
    const answer = await api("POST", `/purchases/${line.purchase_id}/review`, { rating: Number(rating.value), body: body.value || null });
    if (!answer.ok) return say(problem(answer));
    say("Thank you for your review.", true);
    orderPage(orderId);
  } }, rating, body, h("button", {}, "Review"));
}

async function ordersPage() {
  const answer = await api("GET", "/orders");
  if (!answer.ok) return show(h("p", {}, problem(answer)));
  show(h("h1", {}, "Orders"), answer.data.orders.length ? h("table", {}, answer.data.orders.map((o) => h("tr", {},
    h("td", {}, h("a", { href: `#/orders/${o.order_id}` }, new Date(o.created_at).toLocaleString())),
    h("td", {}, o.status), h("td", {}, money(o.total, o.currency))))) : h("p", {}, "No orders yet."));
}

// ------------------------------------------------------------------ routing

async function route() {
  const [path, query] = location.hash.slice(1).split("?");
  const params = new URLSearchParams(query || "");
  const parts = (path || "/").split("/").filter(Boolean);
  if (path && path.startsWith("confirm=")) return confirmPage(decodeURIComponent(path.slice("confirm=".length)));
  if (parts[0] !== "login" && parts[0] !== "signup") say("");
  if (parts[0] === "product") return productPage(parts[1]);
  if (parts[0] === "signup") return signUpPage();
  if (parts[0] === "login") return logInPage();
  if (!me && ["sell", "cart", "orders"].includes(parts[0])) { location.hash = "#/login"; return; }
  if (parts[0] === "sell") return sellPage();
  if (parts[0] === "cart") return cartPage();
  if (parts[0] === "orders" && parts[1]) return orderPage(parts[1]);
  if (parts[0] === "orders") return ordersPage();
  return catalogue(params);
}

async function start() {
  const [answer, listed] = await Promise.all([api("GET", "/me"), api("GET", "/categories")]);
  me = answer.ok ? answer.data : null;
  categories = listed.ok ? listed.data.categories : [];
  nav();
  window.addEventListener("hashchange", route);
  await route();
}

start();
