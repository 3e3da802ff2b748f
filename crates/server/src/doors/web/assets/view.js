// Building the page's DOM. Everything a user wrote goes in as text
// (`textContent`, text nodes), never as HTML; the only markup made from
// user text is a link, and only for a URL that parses as http(s).

/**
 * An element: `attrs` become properties, except `class`, `aria-*`, `data-*`,
 * `role` and `for`, which become attributes; strings among `children` become
 * text nodes.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("aria-") || key.startsWith("data-") || key === "role" || key === "for") {
      node.setAttribute(key, value === true ? "true" : String(value));
    } else node[key] = value;
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

/** Candidates for links; each is checked by `safeUrl` before it becomes one. */
const URL_PATTERN = /\bhttps?:\/\/[^\s<>"'`]+/gi;
/** Punctuation that ends a sentence rather than a URL. */
const TRAILING = /[.,;:!?)\]}'"]+$/;

/** The URL `text` names, if it is an absolute http(s) URL; otherwise null. */
export function safeUrl(text) {
  let url;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return null;
  if (!url.hostname) return null;
  return url.href;
}

/** `text` as text nodes, with http(s) URLs as links that open apart from this page. */
export function linkified(text) {
  const fragment = document.createDocumentFragment();
  let from = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    const candidate = match[0].replace(TRAILING, "");
    const href = safeUrl(candidate);
    if (!href) continue;
    fragment.append(document.createTextNode(text.slice(from, match.index)));
    fragment.append(el("a", { href, target: "_blank", rel: "noopener noreferrer" }, candidate));
    from = match.index + candidate.length;
  }
  fragment.append(document.createTextNode(text.slice(from)));
  return fragment;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "medium" });
const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: "long", month: "long", day: "numeric", year: "numeric" });

/** The local calendar day of a Unix-ms time, as a comparable key. */
export function dayKey(at) {
  const date = new Date(at);
  return `${date.getFullYear()}-${date.getMonth()}-${date.getDate()}`;
}

/** "Today", "Yesterday", or the date. */
export function dayLabel(at) {
  const now = Date.now();
  if (dayKey(at) === dayKey(now)) return "Today";
  if (dayKey(at) === dayKey(now - 86400000)) return "Yesterday";
  return dayFormat.format(new Date(at));
}

/** A `<time>` showing hours and minutes, the full date on hover. */
export function timeElement(at) {
  const date = new Date(at);
  return el("time", { class: "time", dateTime: date.toISOString(), title: fullFormat.format(date) }, timeFormat.format(date));
}

/** Whether `text` mentions `name` as a word (case-insensitive). */
export function mentions(text, name) {
  // Names are letters, digits, '_' and '-' only: nothing to escape.
  if (!name) return false;
  return new RegExp(`(^|[^A-Za-z0-9_-])@?${name}($|[^A-Za-z0-9_-])`, "i").test(text);
}

/** A small SVG icon (no icon font needed), hidden from screen readers. */
function icon(className, d) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("class", className);
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", d);
  path.setAttribute("fill", "currentColor");
  svg.append(path);
  return svg;
}

/** A padlock: the room has a password. */
export function lockIcon() {
  return icon("lock", "M4 7V5a4 4 0 0 1 8 0v2h1v8H3V7h1zm2 0h4V5a2 2 0 0 0-4 0v2z");
}

/** An envelope: a private message waits (a mark unlike the mention's `@`). */
export function envelopeIcon(className) {
  return icon(className, "M1 3h14v10H1V3zm1.6 1.3L8 8.4l5.4-4.1H2.6zM2.3 5.6v6.1h11.4V5.6L8 10 2.3 5.6z");
}

/**
 * `text` as the server stores it: control characters (but tab) and bidi
 * embeddings, overrides and isolates removed, exactly as banter-proto's
 * `sanitize` does. The page shows its own lines this way, since the
 * server's `said` carries the stored id but not the text: a U+202E typed
 * here reads the same to its writer as to everyone else.
 */
export function storedText(text) {
  return text.replace(/[\u0000-\u0008\u000A-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/g, "");
}

/** The length of `text` in UTF-8 bytes, as the server counts it. */
export function utf8Length(text) {
  return new TextEncoder().encode(text).length;
}

/** The text of a message, its direction found from its own first strong letter. */
function said(message) {
  return el("span", { class: "text", dir: "auto" }, linkified(message.text));
}

/**
 * One message line of the log. A line of ours not yet answered by the
 * server is `pending` (marked "sending…" until `settleItem`); `to` names
 * where a line typed here goes when that is elsewhere (`:erm`, `:msg`).
 */
export function messageItem(message, me) {
  const mine = message.from === me;
  const classes = ["message", `kind-${message.kind}`];
  if (mine) classes.push("mine");
  if (!mine && mentions(message.text, me)) classes.push("mention");
  if (message.pending) classes.push("pending");
  const item = el("li", { class: classes.join(" "), "data-id": message.id ?? "" });
  item.append(timeElement(message.at));
  if (message.kind === "emote") {
    item.append(el("span", { class: "body" }, el("span", { class: "star", "aria-hidden": "true" }, "* "), el("b", { class: "from" }, message.from), " ", el("span", { dir: "auto" }, linkified(message.text))));
  } else {
    const from = el("b", { class: "from" }, message.from);
    const body = el("span", { class: "body" }, from);
    if (message.kind === "from_room") {
      body.append(" ", el("span", { class: "via" }, `from #${message.from_room}`));
    }
    if (message.to) body.append(" ", el("span", { class: "via" }, `to ${message.to}`));
    if (message.kind === "notice") {
      body.append(" ", el("span", { class: "via" }, "(notice)"));
    }
    body.append(el("span", { class: "sep", "aria-hidden": "true" }, ": "), said(message));
    item.append(body);
  }
  if (message.pending) item.append(el("span", { class: "pending-mark" }, "sending…"));
  return item;
}

/** Marks a pending line's node as sent, in place (a screen reader hears it once). */
export function settleItem(node, message) {
  node.classList.remove("pending");
  node.setAttribute("data-id", message.id ?? "");
  node.querySelector(".pending-mark")?.remove();
  node.querySelector(".time").replaceWith(timeElement(message.at));
}

/** The line above the first message that came while the conversation was not being read. */
export function unreadLine() {
  return el("li", { class: "unread-line", role: "separator" }, el("span", {}, "unread from here"));
}

/** A line that is not a message: someone joined, the topic changed, an error. */
export function noticeItem(notice) {
  return el("li", { class: `notice notice-${notice.tone}` }, timeElement(notice.at), el("span", { class: "body", dir: "auto" }, notice.text));
}

/** The separator before the first line of a day. */
export function dayItem(at) {
  return el("li", { class: "day", role: "separator" }, el("span", {}, dayLabel(at)));
}
