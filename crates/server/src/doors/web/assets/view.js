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

/** A small padlock drawn in SVG (no icon font needed), hidden from screen readers. */
export function lockIcon() {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("class", "lock");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", "M4 7V5a4 4 0 0 1 8 0v2h1v8H3V7h1zm2 0h4V5a2 2 0 0 0-4 0v2z");
  path.setAttribute("fill", "currentColor");
  svg.append(path);
  return svg;
}

/** One message line of the log. */
export function messageItem(message, me) {
  const mine = message.from === me;
  const classes = ["message", `kind-${message.kind}`];
  if (mine) classes.push("mine");
  if (!mine && mentions(message.text, me)) classes.push("mention");
  const item = el("li", { class: classes.join(" "), "data-id": message.id ?? "" });
  item.append(timeElement(message.at));
  if (message.kind === "emote") {
    item.append(el("span", { class: "body" }, el("span", { class: "star", "aria-hidden": "true" }, "* "), el("b", { class: "from" }, message.from), " ", linkified(message.text)));
  } else {
    const from = el("b", { class: "from" }, message.from);
    const body = el("span", { class: "body" }, from);
    if (message.kind === "from_room") {
      body.append(" ", el("span", { class: "via" }, `from #${message.from_room}`));
    }
    if (message.kind === "notice") {
      body.append(" ", el("span", { class: "via" }, "(notice)"));
    }
    body.append(el("span", { class: "sep", "aria-hidden": "true" }, ": "), el("span", { class: "text" }, linkified(message.text)));
    item.append(body);
  }
  return item;
}

/** A line that is not a message: someone joined, the topic changed, an error. */
export function noticeItem(notice) {
  return el("li", { class: `notice notice-${notice.tone}` }, timeElement(notice.at), el("span", { class: "body" }, notice.text));
}

/** The separator before the first line of a day. */
export function dayItem(at) {
  return el("li", { class: "day", role: "separator" }, el("span", {}, dayLabel(at)));
}
