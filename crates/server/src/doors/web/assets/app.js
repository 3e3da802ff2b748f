// The banter web page: its state (conversations, members, unread counts,
// lines waiting to be sent), what the user does (forms, dialogs, keys,
// typed colon-commands) and what the server says (banter/1 events), tied
// together. The DOM is built by view.js, the connection is protocol.js's.
//
// The session outlives the page: the server's resume token, the rooms, the
// private conversations and the unsent lines are kept in sessionStorage
// (this tab only, gone when it closes), so a reload or a dropped connection
// comes back to the same session, and a line typed while offline is sent
// once, with its nonce, when the connection is back.

import { Connection, Refusal, socketUrl } from "./protocol.js";
import { COMMANDS, findCommand, parseDuration, parseLine, parseModes } from "./commands.js";
import {
  dayItem, dayKey, el, envelopeIcon, lockIcon, mentions, messageItem, noticeItem, settleItem,
  storedText, unreadLine, utf8Length,
} from "./view.js";

const $ = (id) => document.getElementById(id);

/** Messages asked for per page when scrolling up. */
const PAGE = 50;
/** A page of the gap fill after a reconnect (the protocol's most). */
const GAP_PAGE = 200;
/** Pages fetched at most to fill that gap; past them the older lines are let go. */
const GAP_PAGES = 10;
/** How near the top (px) scrolling starts loading older messages. */
const NEAR_TOP = 80;
/** How near the bottom (px) counts as reading the newest messages. */
const NEAR_BOTTOM = 60;
/** The server's default `--max-line-bytes`: longer text is refused before it is sent. */
const MAX_TEXT_BYTES = 4096;
/** Lines Up can recall. */
const RECALL_LINES = 50;
/** Messages of each private conversation kept across a reload (the server keeps none). */
const PRIVATE_KEPT = 200;
/** Where the session is kept (this tab only). */
const SESSION_KEY = "banter.session";
/** At most this wide (px), the page is one column with a sliding drawer. */
const NARROW = "(max-width: 700px)";

const state = {
  /** The name the server accepted. */
  me: null,
  /** The name to say hello with, again after a reconnect. */
  wanted: null,
  /** The server's resume token for this session (a secret: never shown or logged). */
  token: null,
  welcomedOnce: false,
  /** The page came back from sessionStorage (a reload) and has not been welcomed yet. */
  restored: false,
  /** The current socket has been welcomed: requests may go. */
  registered: false,
  /** The user left with :exit: nothing is kept or resumed. */
  quit: false,
  /** key → conversation, in sidebar order. */
  conversations: new Map(),
  active: null,
  /** Order of notices, so they sort after the messages they followed. */
  seq: 0,
  /**
   * Lines typed and not yet answered, oldest first: sent one at a time,
   * each with its nonce, and sent again with it after a reconnect.
   */
  outbox: [],
  /** Lines typed, for Up to recall (newest last). */
  typed: [],
};

const connection = new Connection(socketUrl(window.location), {
  open: () => hello(),
  event: (frame) => onEvent(frame),
  status: (status, retryIn) => showStatus(status, retryIn),
});

// ---------------------------------------------------------------- conversations

const roomKey = (name) => `room:${name.toLowerCase()}`;
const privateKey = (name) => `pm:${name.toLowerCase()}`;

function conversation(kind, name) {
  const key = kind === "room" ? roomKey(name) : privateKey(name);
  let conv = state.conversations.get(key);
  if (!conv) {
    const label = kind === "room" ? `Messages in #${name}` : `Private messages with ${name}`;
    conv = {
      key, kind, name, items: [], ids: new Set(), unread: 0, mention: false,
      members: [], host: false, locked: false, topic: null, joined: kind === "private",
      newest: null, oldest: null, atStart: kind === "private", loading: false, needsPassword: false,
      // The conversation's own log, kept in the page while it lasts and only
      // ever added to: switching shows another list, it rebuilds nothing.
      list: el("ol", { class: "messages", role: "log", "aria-live": "polite", "aria-label": label, hidden: true }),
      // The first unread item, and the "unread from here" line before it.
      marked: null, markNode: null,
    };
    $("logs").append(conv.list);
    state.conversations.set(key, conv);
  }
  return conv;
}

/** Forgets a conversation and its log. */
function dropConversation(conv) {
  conv.list.remove();
  state.conversations.delete(conv.key);
  saveSoon();
}

const room = (name) => state.conversations.get(roomKey(name));
const active = () => state.conversations.get(state.active);

/** Where an item sorts: messages by id, lines not yet sent last, the rest after the message they followed. */
function sortKey(item) {
  if (item.pending) return [Infinity, 2, item.seq];
  return item.id != null ? [item.id, 0, 0] : [item.after, 1, item.seq];
}

function before(a, b) {
  const x = sortKey(a);
  const y = sortKey(b);
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] < y[i];
  return false;
}

/** Whether `item` starts a new day after `prev`. */
const newDay = (prev, item) => !prev || dayKey(prev.at) !== dayKey(item.at);

/** The node an item's DOM starts with: the unread line, its day separator, or itself. */
function firstNode(conv, item) {
  if (conv.marked === item && conv.markNode) return conv.markNode;
  return item.dayNode || item.node;
}

/** Gives `item` the day separator it needs after `prev`, and no other. */
function fixDay(conv, prev, item) {
  const needs = newDay(prev, item);
  if (needs && !item.dayNode) {
    item.dayNode = dayItem(item.at);
    item.node.before(item.dayNode);
  } else if (!needs && item.dayNode) {
    item.dayNode.remove();
    item.dayNode = null;
  }
}

/** Puts `item` into the conversation in order, and its nodes into its log; true when it went at the end. */
function place(conv, item) {
  let at = conv.items.length;
  while (at > 0 && before(item, conv.items[at - 1])) at--;
  conv.items.splice(at, 0, item);
  const prev = conv.items[at - 1];
  const next = conv.items[at + 1];
  item.node = item.node || itemNode(item);
  item.dayNode = newDay(prev, item) ? dayItem(item.at) : null;
  const anchor = next ? firstNode(conv, next) : null;
  if (item.dayNode) conv.list.insertBefore(item.dayNode, anchor);
  conv.list.insertBefore(item.node, anchor);
  if (next) fixDay(conv, item, next);
  // At the end of the log, or just above the lines still being sent.
  return next === undefined || next.pending === true;
}

/** Takes `item` out of the conversation and its nodes out of its log. */
function unplace(conv, item) {
  const at = conv.items.indexOf(item);
  if (at < 0) return;
  conv.items.splice(at, 1);
  item.node.remove();
  if (item.dayNode) item.dayNode.remove();
  item.dayNode = null;
  if (conv.marked === item) unmark(conv);
  const next = conv.items[at];
  if (next) fixDay(conv, conv.items[at - 1], next);
}

/** Adds messages and notices, each message once; returns how many messages were new. */
function addItems(conv, items) {
  const shown = conv.key === state.active;
  const box = logBox();
  const follow = shown && nearBottom();
  const fromBottom = box.scrollHeight - box.scrollTop;
  let fresh = 0;
  let appended = true;
  for (const item of items) {
    if (item.id != null) {
      if (conv.ids.has(item.id)) continue;
      conv.ids.add(item.id);
      conv.newest = conv.newest === null ? item.id : Math.max(conv.newest, item.id);
      conv.oldest = conv.oldest === null ? item.id : Math.min(conv.oldest, item.id);
      fresh += 1;
    } else {
      item.after = item.after ?? conv.newest ?? -1;
      item.seq = state.seq++;
    }
    if (!place(conv, item) && !item.pending) appended = false;
  }
  if (shown) {
    if (follow) box.scrollTop = box.scrollHeight;
    else if (!appended) box.scrollTop = box.scrollHeight - fromBottom;
  }
  if (conv.kind === "private") saveSoon();
  return fresh;
}

function notice(conv, text, tone = "info") {
  if (!conv) conv = active();
  if (!conv) return;
  addItems(conv, [{ type: "notice", text, tone, at: Date.now() }]);
}

function messageFrom(frame) {
  return { type: "message", id: frame.id, at: frame.at, from: frame.from, text: frame.text, kind: frame.kind, from_room: frame.from_room };
}

/** Draws the "unread from here" line before `item`. */
function mark(conv, item) {
  unmark(conv);
  conv.marked = item;
  conv.markNode = unreadLine();
  (item.dayNode || item.node).before(conv.markNode);
}

function unmark(conv) {
  if (conv.markNode) conv.markNode.remove();
  conv.marked = null;
  conv.markNode = null;
}

/**
 * Counts a message toward the unread mark of a conversation not being read
 * (its first unread message gets the "unread from here" line); a mention or
 * a private message also makes a desktop notification when the user allowed
 * them and is looking elsewhere.
 */
function arrived(conv, item) {
  const reading = conv.key === state.active && document.visibilityState === "visible";
  if (reading || item.from === state.me || !conv.items.includes(item)) return;
  if (conv.unread === 0) mark(conv, item);
  conv.unread += 1;
  const privately = conv.kind === "private";
  if (!privately && mentions(item.text, state.me)) conv.mention = true;
  renderSidebar();
  if ((privately || conv.mention) && document.visibilityState === "hidden" && "Notification" in window && Notification.permission === "granted") {
    const title = privately ? `${item.from} (private)` : `${item.from} in #${conv.name}`;
    const shown = new Notification(title, { body: item.text, tag: conv.key });
    shown.addEventListener("click", () => {
      window.focus();
      open(conv.key);
    });
  }
}

// ---------------------------------------------------------------- the log

function logBox() {
  return $("log-box");
}

function nearBottom() {
  const box = logBox();
  return box.scrollHeight - box.scrollTop - box.clientHeight < NEAR_BOTTOM;
}

function itemNode(item) {
  return item.type === "message" ? messageItem(item, state.me) : noticeItem(item);
}

/** The top of the log: a button for older messages, or the start of the conversation. */
function renderLogTop() {
  const conv = active();
  const start = !conv || conv.atStart;
  $("older-button").hidden = start;
  $("log-start").hidden = !start;
}

/** Shows the active conversation's log (made as its messages came), at its unread line or its end. */
function showLog() {
  const conv = active();
  for (const other of state.conversations.values()) {
    const shown = other === conv;
    other.list.hidden = !shown;
    if (shown) other.list.id = "messages";
    else other.list.removeAttribute("id");
  }
  renderLogTop();
  const box = logBox();
  box.scrollTop = box.scrollHeight;
  if (conv && conv.markNode && conv.markNode.offsetTop < box.scrollTop) conv.markNode.scrollIntoView({ block: "start" });
  fillViewport();
}

/** Loads older messages while the log is too short to scroll. */
function fillViewport() {
  const conv = active();
  const box = logBox();
  if (conv && !conv.atStart && conv.joined && box.scrollHeight <= box.clientHeight + NEAR_TOP) {
    loadOlder(conv);
  }
}

async function loadOlder(conv) {
  if (conv.loading || conv.atStart || conv.kind !== "room" || !conv.joined || !state.registered) return;
  conv.loading = true;
  $("older-button").disabled = true;
  try {
    const request = { type: "history", room: conv.name, limit: PAGE };
    if (conv.oldest !== null) request.before = conv.oldest;
    const page = await connection.request(request);
    // A short page is the last one: there is nothing older.
    if (page.messages.length < PAGE) conv.atStart = true;
    conv.loading = false;
    addItems(conv, page.messages.map(messageFrom));
    if (conv.key === state.active) {
      renderLogTop();
      fillViewport();
    }
  } catch (refusal) {
    conv.loading = false;
    if (refusal.code !== "disconnected") notice(conv, refusal.message, "error");
  } finally {
    $("older-button").disabled = false;
  }
}

// ---------------------------------------------------------------- sidebar, header, members

function renderSidebar() {
  const rooms = [];
  const privates = [];
  let total = 0;
  let mentioned = false;
  let privately = false;
  const focused = document.activeElement && document.activeElement.closest("#sidebar") ? document.activeElement.dataset.key : null;
  for (const conv of state.conversations.values()) {
    total += conv.unread;
    const label = [conv.kind === "room" ? `#${conv.name}` : conv.name];
    const parts = [el("span", { class: "conv-name" }, conv.kind === "room" ? `# ${conv.name}` : `@ ${conv.name}`)];
    if (conv.locked) {
      parts.push(lockIcon());
      label.push("locked");
    }
    if (!conv.joined) label.push(conv.needsPassword ? "needs its password again" : "left");
    if (conv.mention) {
      mentioned = true;
      parts.push(el("span", { class: "mention-mark", title: "mentions you", "aria-hidden": "true" }, "@"));
      label.push("mentions you");
    }
    if (conv.kind === "private" && conv.unread) {
      privately = true;
      parts.push(envelopeIcon("private-mark"));
      label.push("private message");
    }
    if (conv.unread) {
      parts.push(el("span", { class: "badge", "aria-hidden": "true" }, String(conv.unread)));
      label.push(`${conv.unread} unread`);
    }
    const button = el("button", {
      type: "button", class: `conversation${conv.joined ? "" : " gone"}`, "aria-label": label.join(", "),
      "aria-current": conv.key === state.active ? "page" : false, "data-key": conv.key,
    }, ...parts);
    button.addEventListener("click", (event) => choose(conv.key, event));
    (conv.kind === "room" ? rooms : privates).push(el("li", {}, button));
  }
  $("room-list").replaceChildren(...rooms);
  $("private-list").replaceChildren(...privates);
  $("private-empty").hidden = privates.length > 0;
  // A re-drawn list keeps the keyboard where it was.
  if (focused) {
    const again = $("sidebar").querySelector(`button[data-key="${focused}"]`);
    if (again) again.focus();
  }
  renderDrawerButton(total, mentioned, privately);
  document.title = total ? `(${total}) banter` : "banter";
}

/** The phone's Rooms button carries the unread marks of the drawer it opens. */
function renderDrawerButton(total, mentioned, privately) {
  const button = $("sidebar-toggle");
  const parts = ["Rooms"];
  const label = ["Rooms"];
  if (mentioned) {
    parts.push(el("span", { class: "mention-mark", "aria-hidden": "true" }, "@"));
    label.push("mentions you");
  }
  if (privately) {
    parts.push(envelopeIcon("private-mark"));
    label.push("private message");
  }
  if (total) {
    parts.push(el("span", { class: "badge", "aria-hidden": "true" }, String(total)));
    label.push(`${total} unread`);
  }
  button.replaceChildren(...parts.map((part) => (typeof part === "string" ? document.createTextNode(part) : part)));
  button.setAttribute("aria-label", label.join(", "));
}

function renderHeader() {
  const conv = active();
  const isRoom = conv && conv.kind === "room";
  $("title").textContent = !conv ? "banter" : isRoom ? `#${conv.name}` : `${conv.name} (private)`;
  $("topic").textContent = isRoom ? conv.topic || (conv.joined ? "No topic" : "You are not in this room") : conv ? "Only the two of you see this conversation." : "";
  $("topic-button").hidden = !(isRoom && conv.host && conv.joined);
  $("room-menu-button").hidden = !isRoom;
  $("members-toggle").hidden = !isRoom;
  $("input").placeholder = !conv ? "Type :help" : isRoom ? `Message #${conv.name}, or :help` : `Message ${conv.name}`;
}

/** Hosts first, then everyone else, each by name. */
function byRoleAndName(a, b) {
  if (a.host !== b.host) return a.host ? -1 : 1;
  return a.name.localeCompare(b.name, undefined, { sensitivity: "base" });
}

function renderMembers() {
  const conv = active();
  const members = conv && conv.kind === "room" && conv.joined ? [...conv.members].sort(byRoleAndName) : [];
  $("members-heading").textContent = members.length ? `Members (${members.length})` : "Members";
  $("member-list").replaceChildren(...members.map((member) => {
    const parts = [el("span", { class: "member-name" }, member.name)];
    if (member.host) parts.push(" ", el("span", { class: "host-mark" }, "host"));
    if (member.name === state.me) parts.push(" ", el("span", { class: "you-mark" }, "you"));
    const button = el("button", { type: "button", class: "member", "aria-haspopup": "dialog" }, ...parts);
    button.addEventListener("click", () => memberMenu(conv, member.name));
    return el("li", {}, button);
  }));
}

/** Shows a conversation and clears its unread marks. */
function open(key) {
  const conv = state.conversations.get(key);
  if (!conv) return;
  const left = active();
  // The conversation left behind has been read: its unread line goes.
  if (left && left !== conv) unmark(left);
  state.active = key;
  conv.unread = 0;
  conv.mention = false;
  renderSidebar();
  renderHeader();
  renderMembers();
  showLog();
  closeSidebar();
  saveSoon();
  if (conv.needsPassword) joinWithPassword(conv.name);
}

/**
 * A conversation chosen in the sidebar. Focus moves to the message input,
 * to write there at once; on a phone a tap moves it to the Rooms button
 * instead (the drawer closed, and no on-screen keyboard pops up unasked).
 */
function choose(key, event) {
  open(key);
  const tapped = event && event.detail > 0 && window.matchMedia(NARROW).matches;
  if (!$("password-dialog").open) (tapped ? $("sidebar-toggle") : $("input")).focus();
}

function openAny() {
  const first = state.conversations.keys().next();
  if (first.done) {
    state.active = null;
    renderSidebar();
    renderHeader();
    renderMembers();
    showLog();
  } else {
    open(first.value);
  }
}

/** The next conversation with unread messages after the open one (`step` 1), or before it (-1). */
function openNextUnread(step) {
  const keys = [...state.conversations.keys()];
  const at = keys.indexOf(state.active);
  for (let i = 1; i <= keys.length; i++) {
    const key = keys[(at + step * i + keys.length * (i + 1)) % keys.length];
    if (state.conversations.get(key).unread) {
      open(key);
      return true;
    }
  }
  return false;
}

// ---------------------------------------------------------------- the session across reloads

/** Keeps the session in sessionStorage: its token, rooms, private conversations and unsent lines. */
function saveSession() {
  if (state.quit || !state.wanted || !(state.welcomedOnce || state.restored)) return;
  const convs = [...state.conversations.values()];
  const snapshot = {
    name: state.wanted,
    token: state.token,
    active: state.active,
    rooms: convs.filter((c) => c.kind === "room" && c.joined).map((c) => c.name),
    privates: convs.filter((c) => c.kind === "private").map((c) => ({
      name: c.name,
      messages: c.items.filter((i) => i.type === "message" && !i.pending).slice(-PRIVATE_KEPT)
        .map(({ from, text, at, kind }) => ({ from, text, at, kind })),
    })),
    outbox: state.outbox.map(({ nonce, request, key, typed }) => ({ nonce, request, key, typed })),
  };
  try {
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(snapshot));
  } catch {
    // Storage full or turned off: the page works on, a reload starts afresh.
  }
}

let saveTimer = null;
function saveSoon() {
  if (saveTimer === null) saveTimer = setTimeout(() => {
    saveTimer = null;
    saveSession();
  }, 0);
}

function forgetSession() {
  state.quit = true;
  state.token = null;
  sessionStorage.removeItem(SESSION_KEY);
}

/** Brings back a session kept by this tab before a reload; false when there is none. */
function restoreSession() {
  let saved;
  try {
    saved = JSON.parse(sessionStorage.getItem(SESSION_KEY));
  } catch {
    return false;
  }
  if (!saved || typeof saved.name !== "string") return false;
  state.restored = true;
  state.wanted = saved.name;
  state.me = saved.name;
  state.token = typeof saved.token === "string" ? saved.token : null;
  for (const name of saved.rooms || []) conversation("room", name).joined = true;
  for (const kept of saved.privates || []) {
    const conv = conversation("private", kept.name);
    addItems(conv, (kept.messages || []).map((m) => ({ type: "message", id: null, at: m.at, from: m.from, text: m.text, kind: m.kind })));
  }
  for (const line of saved.outbox || []) queue(line);
  state.active = state.conversations.has(saved.active) ? saved.active : null;
  $("me").textContent = saved.name;
  showApp();
  if (state.active) open(state.active);
  else openAny();
  return true;
}

function showApp() {
  $("login").hidden = true;
  $("app").hidden = false;
  renderSidebar();
  renderHeader();
}

// ---------------------------------------------------------------- connection and rooms

function showStatus(status, retryIn) {
  // A new socket, or none: requests wait for the next welcome.
  state.registered = false;
  const line = $("status");
  const text = {
    connecting: "Connecting…",
    open: "",
    waiting: `Connection lost. Reconnecting in ${Math.ceil(retryIn / 1000)} s…`,
    closed: "You left the chat. Reload the page to come back.",
  }[status];
  line.className = `status status-${status}`;
  line.replaceChildren(text);
  if (status === "waiting") {
    const retry = el("button", { type: "button", class: "link-button" }, "Retry now");
    retry.addEventListener("click", () => connection.retryNow());
    line.append(" ", retry);
  }
  if (!state.welcomedOnce && !state.restored) $("login-status").textContent = status === "waiting" ? "Cannot reach the server; trying again…" : "";
}

/**
 * Says hello on a new socket: with the resume token first, when there is
 * one, to take the session back; with the name alone when the server
 * refuses it (`resume_failed`: unknown, expired, or still held by a
 * connection it has not seen close). The token is kept until a welcome
 * brings another, so when the name is still taken by that same session the
 * next reconnect tries to resume it again.
 */
async function hello() {
  if (!state.wanted || state.quit) return;
  let welcome = null;
  try {
    if (state.token) {
      try {
        welcome = await connection.request({ type: "hello", name: state.wanted, resume: state.token });
      } catch (refusal) {
        if (refusal.code !== "resume_failed") throw refusal;
      }
    }
    if (!welcome) welcome = await connection.request({ type: "hello", name: state.wanted });
  } catch (refusal) {
    helloRefused(refusal);
    return;
  }
  welcomed(welcome);
}

function helloRefused(refusal) {
  // The socket closed meanwhile: the next one says hello again.
  if (refusal.code === "disconnected" || refusal.code === "offline") return;
  if (!state.welcomedOnce && !state.restored) {
    $("login-error").textContent = refusal.message;
    $("name-input").focus();
  } else if (refusal.code === "name_taken") {
    // The old connection may not be gone yet: try again shortly.
    $("status").textContent = "Waiting for your name to be free again…";
    connection.reconnectLater();
  } else {
    $("status").textContent = refusal.message;
  }
}

function welcomed(welcome) {
  state.me = welcome.name;
  state.wanted = welcome.name;
  if (typeof welcome.resume === "string") state.token = welcome.resume;
  state.registered = true;
  connection.accepted();
  $("me").textContent = state.me;
  const first = !state.welcomedOnce && !state.restored;
  state.welcomedOnce = true;
  state.restored = false;
  localStorage.setItem("banter.name", state.me);
  if (first) {
    showApp();
    $("input").focus();
    enterDefaultRoom();
  } else if (welcome.resumed) {
    resumed(welcome.rooms || []);
  } else {
    const rooms = [...state.conversations.values()].filter((c) => c.kind === "room" && c.joined);
    if (rooms.length) rejoin(rooms);
    else enterDefaultRoom();
  }
  saveSession();
  // After the joins, on the same socket: the server answers in order.
  pump();
}

async function enterDefaultRoom() {
  try {
    const list = await connection.request({ type: "rooms" });
    const lobby = list.rooms.find((r) => r.default);
    if (lobby) await join(lobby.name);
    else openRoomBrowser();
  } catch (refusal) {
    $("status").textContent = refusal.message;
  }
}

/**
 * After a resumed welcome: the session kept its rooms and host rights, and
 * what happened meanwhile follows as events. The page brings its view of
 * each room up to date (members, topic, lock), and after a reload, when it
 * knows nothing of a room's log yet, the log is loaded as it is opened.
 */
function resumed(rooms) {
  const listed = new Map(rooms.map((r) => [roomKey(r.room), r]));
  for (const conv of state.conversations.values()) {
    // Left while away (a kick or a close is on its way as an event).
    if (conv.kind === "room" && conv.joined && !listed.has(conv.key)) conv.joined = false;
  }
  for (const r of rooms) {
    const conv = conversation("room", r.room);
    conv.name = r.room;
    conv.joined = true;
    conv.needsPassword = false;
    conv.host = r.host;
    refreshRoom(conv);
  }
  connection.request({ type: "rooms" }).then((list) => {
    for (const r of list.rooms) {
      const conv = room(r.name);
      if (conv) conv.locked = r.locked;
    }
    renderSidebar();
  }, () => {});
  if (!active()) openAny();
  else open(state.active);
}

/**
 * Asks for a room's members and topic (after a resume), and for the
 * messages after the newest one shown: events the lost connection had
 * already taken from the session's queue were lost with it.
 */
async function refreshRoom(conv) {
  if (conv.newest !== null) fillGap(conv, null, conv.newest);
  try {
    const [who, topic] = await Promise.all([
      connection.request({ type: "who", room: conv.name }),
      connection.request({ type: "topic", room: conv.name }),
    ]);
    conv.members = who.members;
    conv.host = who.members.some((m) => m.name === state.me && m.host);
    conv.topic = topic.topic;
  } catch (refusal) {
    if (refusal.code !== "disconnected") notice(conv, refusal.message, "error");
    return;
  }
  if (conv.key === state.active) {
    renderHeader();
    renderMembers();
    fillViewport();
  }
}

/** After a fresh welcome on a reconnect: enter every room again and fill what was missed. */
function rejoin(rooms) {
  for (const conv of rooms) {
    const request = { type: "join", room: conv.name };
    // Only what came after the newest message shown; the gap fill pages back from there.
    if (conv.newest !== null) request.since = conv.newest;
    connection.request(request).then(
      (joined) => entered(joined),
      (refusal) => {
        if (refusal.code === "disconnected") return;
        conv.joined = false;
        if (refusal.code === "password_needed") {
          conv.needsPassword = true;
          notice(conv, `#${conv.name} needs its password again; open it to type it.`, "error");
        } else {
          notice(conv, refusal.message, "error");
        }
        renderSidebar();
        if (conv.key === state.active) {
          renderHeader();
          renderMembers();
        }
      },
    );
  }
  if (!active()) openAny();
}

/** A `joined` reply: the room's members, topic and recent history. */
function entered(joined) {
  const conv = conversation("room", joined.room);
  conv.name = joined.room;
  const newestBefore = conv.newest;
  conv.joined = true;
  conv.needsPassword = false;
  conv.members = joined.members;
  conv.host = joined.host;
  conv.locked = joined.locked;
  conv.topic = joined.topic;
  const history = joined.history.map(messageFrom);
  // An empty history says nothing of older messages: only a short page of
  // `history` marks the start of the room (loaded as the log is shown).
  addItems(conv, history);
  if (newestBefore !== null && history.length && history[0].id > newestBefore) {
    fillGap(conv, history[0].id, newestBefore);
  }
  renderSidebar();
  saveSoon();
  if (conv.key === state.active) {
    renderHeader();
    renderMembers();
    fillViewport();
  }
  return conv;
}

/** Fetches the messages between `known` and `from` (ids; `from` null: the newest), each once. */
async function fillGap(conv, from, known) {
  let cursor = from;
  for (let page = 0; page < GAP_PAGES; page++) {
    let reply;
    try {
      const request = { type: "history", room: conv.name, limit: GAP_PAGE };
      if (cursor !== null) request.before = cursor;
      reply = await connection.request(request);
    } catch (refusal) {
      if (refusal.code !== "disconnected") notice(conv, `Could not fetch the messages missed: ${refusal.message}`, "error");
      return;
    }
    const messages = reply.messages.map(messageFrom).filter((m) => m.id > known);
    addItems(conv, messages);
    if (messages.length < reply.messages.length || reply.messages.length === 0) return;
    cursor = reply.messages[0].id;
  }
  // Too much was missed: keep the newest part and let scrolling up page back, with no hole.
  for (const item of conv.items.filter((i) => !i.pending && (i.id ?? i.after) < cursor)) unplace(conv, item);
  conv.ids = new Set(conv.items.filter((item) => item.id != null).map((item) => item.id));
  conv.oldest = cursor;
  conv.atStart = false;
  if (conv.key === state.active) renderLogTop();
}

async function join(name, password) {
  const request = { type: "join", room: name };
  if (password !== undefined) request.password = password;
  const existing = room(name);
  if (existing && existing.joined) {
    open(existing.key);
    return;
  }
  const joined = await connection.request(request);
  const conv = entered(joined);
  open(conv.key);
}

/** Enters `name`, asking for its password when it has one. */
async function joinOrAsk(name) {
  try {
    await join(name);
  } catch (refusal) {
    if (refusal.code === "password_needed") joinWithPassword(name);
    else throw refusal;
  }
}

function joinWithPassword(name) {
  passwordDialog({
    title: `Enter #${name}`,
    text: `#${name} is locked. Type its password to enter.`,
    twice: false,
    submit: async (password) => {
      try {
        await join(name, password);
        return null;
      } catch (refusal) {
        return refusal.message;
      }
    },
  });
}

async function create(name) {
  const joined = await connection.request({ type: "create", room: name });
  open(entered(joined).key);
}

async function part(conv) {
  if (conv.joined) await connection.request({ type: "part", room: conv.name });
  dropConversation(conv);
  if (state.active === conv.key) openAny();
  else renderSidebar();
}

// ---------------------------------------------------------------- server events

function onEvent(frame) {
  const conv = frame.room ? room(frame.room) : null;
  switch (frame.type) {
    case "message": {
      if (!conv) return;
      const item = messageFrom(frame);
      addItems(conv, [item]);
      arrived(conv, item);
      return;
    }
    case "private": {
      const pm = conversation("private", frame.from);
      const item = { type: "message", id: null, at: frame.at, from: frame.from, text: frame.text, kind: "chat" };
      addItems(pm, [item]);
      renderSidebar();
      arrived(pm, item);
      return;
    }
    case "member_joined":
      if (!conv) return;
      if (!conv.members.some((m) => m.name === frame.name)) conv.members.push({ name: frame.name, host: false });
      notice(conv, `${frame.name} joined`);
      break;
    case "member_left": {
      if (!conv) return;
      conv.members = conv.members.filter((m) => m.name !== frame.name);
      const how = {
        quit: "left the chat",
        disconnected: "was disconnected",
        parted: "left the room",
        kicked: `was removed by ${frame.by}${frame.message ? `: ${frame.message}` : ""}`,
      }[frame.reason] || "left";
      notice(conv, `${frame.name} ${how}`);
      break;
    }
    case "nick_changed":
      if (!conv) return;
      for (const m of conv.members) if (m.name === frame.old) m.name = frame.new;
      notice(conv, `${frame.old} is now known as ${frame.new}`);
      renamePrivate(frame.old, frame.new);
      break;
    case "host_added":
    case "host_removed": {
      if (!conv) return;
      const host = frame.type === "host_added";
      for (const m of conv.members) if (m.name === frame.name) m.host = host;
      if (frame.name === state.me) conv.host = host;
      let text;
      if (!frame.by) text = `${frame.name} became a host: the last host left`;
      else if (host) text = `${frame.by} made ${frame.name} a host`;
      else if (frame.by === frame.name) text = `${frame.name} stepped down as host`;
      else text = `${frame.by} took host rights from ${frame.name}`;
      notice(conv, text);
      break;
    }
    case "topic_changed":
      if (!conv) return;
      conv.topic = frame.topic;
      notice(conv, frame.topic ? `${frame.by} set the topic: ${frame.topic}` : `${frame.by} cleared the topic`);
      break;
    case "lock_changed":
      if (!conv) return;
      conv.locked = frame.locked;
      notice(conv, frame.locked ? `${frame.by} locked #${conv.name} with a password` : `${frame.by} removed the password of #${conv.name}`);
      break;
    case "modes_changed":
      if (!conv) return;
      notice(conv, `${frame.by} ${frame.changes.map((c) => `${c.on ? "set" : "cleared"} ${c.mode.replace("_", " ")}`).join(", ")} in #${conv.name}`);
      break;
    case "voice_changed":
      if (!conv) return;
      for (const m of conv.members) if (m.name === frame.name) m.voice = frame.on;
      notice(conv, frame.on ? `${frame.by} gave ${frame.name} a voice` : `${frame.by} took ${frame.name}'s voice`);
      break;
    case "ban_changed":
      if (!conv) return;
      notice(conv, frame.on ? `${frame.by} banned ${frame.mask} from #${conv.name}` : `${frame.by} lifted the ban on ${frame.mask} in #${conv.name}`);
      break;
    case "kicked":
      if (!conv) return;
      conv.joined = false;
      notice(conv, `${frame.by} removed you from #${conv.name}${frame.message ? `: ${frame.message}` : ""}`, "error");
      saveSoon();
      break;
    case "room_closed":
      roomClosed(frame.room, frame.by);
      return;
    case "invited":
      notice(null, `${frame.by} invited you to #${frame.room}: type :cr ${frame.room} to enter without its password.`);
      return;
    case "announcement":
      notice(null, `Notice from server operator ${frame.from}: ${frame.text}`);
      return;
    case "killed":
      notice(null, `Server operator ${frame.by} disconnected you${frame.reason ? `: ${frame.reason}` : ""}`, "error");
      return;
    case "missed":
      missed(frame);
      return;
    case "error":
      notice(null, frame.message, "error");
      return;
    case "shutdown":
      $("status").textContent = "The server is shutting down…";
      return;
    default:
      return;
  }
  renderSidebar();
  if (conv && conv.key === state.active) {
    renderHeader();
    renderMembers();
  }
}

function renamePrivate(old, name) {
  const conv = state.conversations.get(privateKey(old));
  if (!conv || state.conversations.has(privateKey(name))) return;
  state.conversations.delete(conv.key);
  conv.key = privateKey(name);
  conv.name = name;
  conv.list.setAttribute("aria-label", `Private messages with ${name}`);
  state.conversations.set(conv.key, conv);
  if (state.active === privateKey(old)) state.active = conv.key;
  saveSoon();
}

function roomClosed(name, by) {
  const conv = room(name);
  if (!conv) return;
  dropConversation(conv);
  if (state.active === conv.key) openAny();
  else renderSidebar();
  notice(null, `${by} closed #${name}; its history is gone.`);
}

async function missed(frame) {
  if (frame.room === null) {
    notice(null, `You missed ${frame.count} private messages: they came faster than this page could read them.`, "error");
    return;
  }
  const conv = room(frame.room);
  if (!conv) return;
  notice(conv, `You missed ${frame.count} messages; fetching them…`, "error");
  try {
    const reply = await connection.request({ type: "history", room: conv.name, limit: Math.min(GAP_PAGE, frame.count + PAGE) });
    addItems(conv, reply.messages.map(messageFrom));
  } catch (refusal) {
    notice(conv, refusal.message, "error");
  }
}

// ---------------------------------------------------------------- saying things

/** A fresh nonce: 16 random hex characters. */
function nonce() {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Refuses, before sending, text the server would refuse as too long (it counts UTF-8 bytes). */
function checkLength(text) {
  const bytes = utf8Length(text);
  if (bytes > MAX_TEXT_BYTES) {
    throw new Refusal("too_long", `This line is ${bytes} bytes; at most ${MAX_TEXT_BYTES} can be sent. It is still in the input.`);
  }
}

/**
 * Queues a line to send (`line`: its request, the conversation it shows in,
 * the text typed) and shows it there as pending: not sent yet, or sent and
 * not answered. `pump` sends it.
 */
function queue(line) {
  const { request } = line;
  const conv = state.conversations.get(line.key) || (request.type === "msg" ? conversation("private", request.to) : null);
  if (!conv) return;
  const item = {
    type: "message", pending: true, id: null, at: Date.now(), from: state.me || state.wanted,
    text: storedText(request.text), kind: request.type === "emote" ? "emote" : "chat",
  };
  if (request.type === "say_elsewhere") item.to = `#${request.room}`;
  else if (request.type === "msg" && conv.kind !== "private") item.to = request.to;
  state.outbox.push({ ...line, item });
  addItems(conv, [item]);
  saveSoon();
}

let pumping = false;

/**
 * Sends the queued lines, one at a time and in order (so a burst typed
 * offline meets no flood limit), while the connection is welcomed. A line
 * the connection lost before its answer stays queued and goes again, with
 * the same nonce, after the next welcome: the server answers a nonce it has
 * seen with the first answer and delivers nothing twice.
 */
async function pump() {
  if (pumping) return;
  pumping = true;
  try {
    while (state.outbox.length && state.registered && connection.isOpen) {
      const line = state.outbox[0];
      let reply;
      try {
        reply = await connection.request({ ...line.request, nonce: line.nonce });
      } catch (refusal) {
        if (refusal.code === "disconnected" || refusal.code === "offline") break;
        state.outbox.shift();
        refused(line, refusal);
        continue;
      }
      state.outbox.shift();
      answered(line, reply);
    }
  } finally {
    pumping = false;
    saveSoon();
  }
}

/** The conversation a queued line shows in. */
const lineConversation = (line) => [...state.conversations.values()].find((c) => c.items.includes(line.item));

/** A queued line was answered: it shows as the server stored it, where it belongs. */
function answered(line, reply) {
  const conv = lineConversation(line);
  const { item } = line;
  switch (line.request.type) {
    case "say":
    case "emote": {
      if (!conv) return;
      unplace(conv, item);
      item.pending = false;
      item.id = reply.message_id;
      item.at = reply.at;
      if (conv.ids.has(item.id)) return;
      settleItem(item.node, item);
      addItems(conv, [item]);
      return;
    }
    case "msg": {
      const pm = conversation("private", reply.to);
      if (conv === pm) {
        unplace(pm, item);
        item.pending = false;
        item.after = null;
        item.at = Date.now();
        item.text = reply.text;
        settleItem(item.node, item);
        addItems(pm, [item]);
        return;
      }
      if (conv) unplace(conv, item);
      addItems(pm, [{ type: "message", id: null, at: Date.now(), from: state.me, text: reply.text, kind: "chat" }]);
      renderSidebar();
      if (conv && conv.key === state.active) open(pm.key);
      return;
    }
    default:
      if (conv) {
        unplace(conv, item);
        notice(conv, `sent to #${reply.room} (${reply.members} there): ${item.text}`);
      }
  }
}

/** A queued line was refused: it leaves the log and, if the input is free, goes back into it. */
function refused(line, refusal) {
  const conv = lineConversation(line);
  if (conv) unplace(conv, line.item);
  notice(conv, refusal.message, "error");
  const input = $("input");
  if (input.value === "") input.value = line.typed;
}

/** A line for a room or a private conversation, typed as `typed`. */
function say(conv, text, kind = "say", typed = text) {
  if (!conv) throw new Refusal("no_room", "open a room first (see :rooms)");
  checkLength(text);
  if (conv.kind === "private") {
    if (kind !== "say") throw new Refusal("bad_request", ":me works in rooms only");
    queue({ nonce: nonce(), key: conv.key, typed, request: { type: "msg", to: conv.name, text } });
  } else {
    if (!conv.joined) throw new Refusal("not_member", `you are not in #${conv.name}; :cr ${conv.name} to enter it again`);
    queue({ nonce: nonce(), key: conv.key, typed, request: { type: kind, room: conv.name, text } });
  }
  pump();
}

function privateMessage(to, text, typed) {
  const conv = active();
  if (!conv) throw new Refusal("no_room", "open a conversation first");
  checkLength(text);
  queue({ nonce: nonce(), key: conv.key, typed, request: { type: "msg", to, text } });
  pump();
}

function sayElsewhere(to, text, typed) {
  const from = requireRoom();
  checkLength(text);
  queue({ nonce: nonce(), key: from.key, typed, request: { type: "say_elsewhere", room: to, from_room: from.name, text } });
  pump();
}

function requireRoom() {
  const conv = active();
  if (!conv || conv.kind !== "room") throw new Refusal("no_room", "open a room first");
  return conv;
}

function help(word) {
  const conv = active();
  const line = (c) => `:${c.name}${c.usage ? " " + c.usage : ""}: ${c.summary}`;
  if (word) {
    const spec = findCommand(word);
    if (!spec) throw new Refusal("bad_command", `unknown command :${word} (see :help)`);
    notice(conv, line(spec));
    return;
  }
  notice(conv, "Commands (as on the text door; press ? outside the input for keys too):");
  for (const c of COMMANDS) notice(conv, line(c));
}

/** The commands whose lines are queued and sent with a nonce, even while offline. */
const QUEUED = new Set(["me", "msg", "erm"]);

/** Carries out one typed line. */
async function run(line) {
  const parsed = parseLine(line);
  if (parsed.error) throw new Refusal("bad_command", parsed.error);
  if (parsed.chat !== undefined) return say(active(), parsed.chat, "say", line);
  const conv = active();
  switch (parsed.command) {
    case "help": return help(parsed.word);
    case "exit":
      connection.request({ type: "quit" }).catch(() => {});
      forgetSession();
      connection.stop();
      return;
    case "change-room": return joinOrAsk(parsed.word);
    case "new": return create(parsed.word);
    case "part": {
      const target = parsed.word ? room(parsed.word) : requireRoom();
      if (!target) throw new Refusal("not_member", `you are not in #${parsed.word}`);
      return part(target);
    }
    case "erm": return sayElsewhere(parsed.word, parsed.text, line);
    case "rooms": return openRoomBrowser();
    case "who": {
      if (parsed.word === "*") {
        const users = await connection.request({ type: "users" });
        notice(conv, `Connected (${users.names.length}): ${users.names.join(", ")}`);
        return;
      }
      const name = parsed.word || requireRoom().name;
      const who = await connection.request({ type: "who", room: name });
      const names = who.members.map((m) => (m.host ? `${m.name} (host)` : m.name));
      notice(conv, `In #${who.room} (${names.length}): ${names.join(", ")}`);
      return;
    }
    case "whois": {
      const user = await connection.request({ type: "whois", name: parsed.word });
      notice(conv, whoisText(user));
      return;
    }
    case "msg": return privateMessage(parsed.word, parsed.text, line);
    case "nick": {
      const set = await connection.request({ type: "nick", name: parsed.word });
      renameMe(set.name);
      return;
    }
    case "me": return say(conv, parsed.text, "emote", line);
    case "history": {
      const from = requireRoom();
      const count = parsed.word ? Number.parseInt(parsed.word, 10) : 20;
      if (!(count > 0)) throw new Refusal("bad_count", ":history takes a number of messages");
      const reply = await connection.request({ type: "history", room: from.name, limit: count });
      const fresh = addItems(from, reply.messages.map(messageFrom));
      notice(from, `${reply.messages.length} messages fetched, ${fresh} of them not shown before`);
      return;
    }
    case "topic": {
      const from = requireRoom();
      if (parsed.text === null) {
        const reply = await connection.request({ type: "topic", room: from.name });
        notice(from, reply.topic ? `The topic of #${from.name}: ${reply.topic}` : `#${from.name} has no topic`);
        return;
      }
      await connection.request({ type: "topic", room: from.name, topic: parsed.text });
      return;
    }
    case "hostadd": return hostRequest("host_add", parsed.word);
    case "hostrm": return hostRequest("host_remove", parsed.word);
    case "passwd":
      if (parsed.word) return removePassword(requireRoom());
      return setPassword(requireRoom());
    case "unlock": return removePassword(requireRoom());
    case "kick": {
      const request = { type: "kick", room: requireRoom().name, name: parsed.word };
      if (parsed.text) request.reason = parsed.text;
      await connection.request(request);
      return;
    }
    case "invite": return invite(requireRoom(), parsed.word);
    case "close": return closeRoom(requireRoom());
    case "mode": {
      const room = requireRoom();
      if (!parsed.word) {
        const reply = await connection.request({ type: "modes", room: room.name });
        const shown = reply.modes.concat(reply.locked ? ["locked"] : []);
        notice(room, `Modes of #${room.name}: ${shown.length ? shown.join(", ") : "none"}`);
        return;
      }
      const changes = parseModes(parsed.word);
      if (typeof changes === "string") return notice(room, changes, "error");
      for (const [mode, on] of changes) await connection.request({ type: "set_mode", room: room.name, mode, on });
      return;
    }
    case "voice":
    case "devoice":
      await connection.request({ type: "voice", room: requireRoom().name, name: parsed.word, on: parsed.command === "voice" });
      return;
    case "ban":
    case "unban":
      await connection.request({ type: parsed.command, room: requireRoom().name, mask: parsed.word });
      return;
    case "bans": {
      const room = parsed.word ? { name: parsed.word } : requireRoom();
      const reply = await connection.request({ type: "bans", room: room.name });
      const target = state.conversations.get(roomKey(reply.room)) || conv;
      if (!reply.bans.length) return notice(target, `#${reply.room} bans nobody`);
      for (const ban of reply.bans) notice(target, `Banned from #${reply.room}: ${ban.mask} (by ${ban.by})`);
      return;
    }
    case "set":
      notice(conv, "The page always shows the time of each message; :set is for the text door.");
      return;
    case "oper": return operPassword(parsed.word);
    case "kill": {
      const request = { type: "kill", name: parsed.word };
      if (parsed.text) request.reason = parsed.text;
      const done = await connection.request(request);
      notice(conv, `${done.name} was disconnected`);
      return;
    }
    case "serverban": {
      const request = { type: "server_ban", mask: parsed.word };
      let reason = parsed.text || "";
      const first = reason.split(/\s+/)[0];
      const seconds = parseDuration(first);
      if (seconds !== null) {
        request.seconds = seconds;
        reason = reason.slice(first.length).trim();
      }
      if (reason) request.reason = reason;
      const set = await connection.request(request);
      notice(conv, `Server ban on ${set.mask} set ${untilText(set.until)} (${set.reason}); ${set.disconnected} disconnected`);
      return;
    }
    case "serverunban": {
      const lifted = await connection.request({ type: "server_unban", mask: parsed.word });
      notice(conv, `Server ban on ${lifted.mask} lifted`);
      return;
    }
    case "serverbans": {
      const list = await connection.request({ type: "server_bans" });
      if (list.bans.length === 0) notice(conv, "No server bans");
      for (const ban of list.bans) notice(conv, `Server ban on ${ban.mask} by ${ban.by} ${untilText(ban.until)}: ${ban.reason}`);
      return;
    }
    case "announce":
      await connection.request({ type: "announce", text: parsed.text });
      return;
    default:
      return;
  }
}

/** A `whois` answer on one line, in the text door's words (rooms with their #). */
function whoisText(user) {
  const rooms = user.rooms.map((m) => `#${m.room}${m.host ? " (host)" : m.voice ? " (voice)" : ""}`);
  let text = rooms.length ? `${user.name}: in ${rooms.join(", ")}` : `${user.name}: in no rooms`;
  if (user.away !== null) text += `; away: ${user.away}`;
  if (user.operator) text += "; server operator";
  if (user.address !== null) text += `; address ${user.address}`;
  return text;
}

function untilText(until) {
  return until === null ? "until lifted" : `until ${new Date(until).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

function operPassword(name) {
  passwordDialog({
    title: `Become operator ${name}`,
    text: `Type the password of server operator ${name}.`,
    twice: false,
    submit: async (password) => {
      try {
        const reply = await connection.request({ type: "oper", name, password });
        notice(null, `You are now a server operator (${reply.name}).`);
        return null;
      } catch (refusal) {
        return refusal.message;
      }
    },
  });
}

function renameMe(name) {
  state.me = name;
  state.wanted = name;
  $("me").textContent = name;
  localStorage.setItem("banter.name", name);
  renderMembers();
  saveSoon();
}

async function hostRequest(type, name) {
  await connection.request({ type, room: requireRoom().name, name });
}

async function invite(conv, name) {
  const sent = await connection.request({ type: "invite", room: conv.name, name });
  notice(conv, `${sent.name} is invited to #${sent.room}`);
}

async function removePassword(conv) {
  await connection.request({ type: "remove_password", room: conv.name });
}

async function closeRoom(conv) {
  await connection.request({ type: "close", room: conv.name });
  roomClosed(conv.name, state.me);
}

function setPassword(conv) {
  passwordDialog({
    title: `Lock #${conv.name}`,
    text: `Members stay; anyone else then needs this password to enter #${conv.name}.`,
    twice: true,
    submit: async (password) => {
      try {
        await connection.request({ type: "set_password", room: conv.name, password });
        return null;
      } catch (refusal) {
        return refusal.message;
      }
    },
  });
}

// ---------------------------------------------------------------- dialogs

function wireDialog(dialog) {
  for (const button of dialog.querySelectorAll("[data-close]")) {
    button.addEventListener("click", () => dialog.close());
  }
}

/** Remembers where focus was, to give it back when a dialog closes. */
function showDialog(dialog) {
  const back = document.activeElement;
  dialog.addEventListener("close", () => (back && back.isConnected ? back : $("input")).focus(), { once: true });
  dialog.showModal();
}

/**
 * Asks for a password (twice when setting one). `submit(password)` returns
 * null when done or a sentence to show. The fields are emptied as soon as
 * they are read, and when the dialog closes: no password stays in the page.
 */
function passwordDialog({ title, text, twice, submit }) {
  const dialog = $("password-dialog");
  const form = $("password-form");
  const input = $("password-input");
  const again = $("password-again");
  $("password-title").textContent = title;
  $("password-text").textContent = text;
  $("password-label").textContent = twice ? "New password" : "Password";
  $("password-again-row").hidden = !twice;
  $("password-error").textContent = "";
  form.reset();
  const onSubmit = async (event) => {
    event.preventDefault();
    const password = input.value;
    const repeated = again.value;
    form.reset();
    if (password === "") {
      $("password-error").textContent = "Type a password, or Cancel.";
      input.focus();
      return;
    }
    if (twice && password !== repeated) {
      $("password-error").textContent = "The two passwords differ; type them again.";
      input.focus();
      return;
    }
    $("password-ok").disabled = true;
    const error = await submit(password);
    $("password-ok").disabled = false;
    if (error === null) {
      dialog.close();
    } else {
      $("password-error").textContent = error;
      input.focus();
    }
  };
  form.addEventListener("submit", onSubmit);
  dialog.addEventListener("close", () => {
    form.removeEventListener("submit", onSubmit);
    form.reset();
  }, { once: true });
  showDialog(dialog);
  input.focus();
}

/** Asks for one line of text; `submit(value)` returns null when done or a sentence to show. */
function promptDialog({ title, label, value = "", maxLength = 4096, submit }) {
  const dialog = $("prompt-dialog");
  const form = $("prompt-form");
  const input = $("prompt-input");
  $("prompt-title").textContent = title;
  $("prompt-label").textContent = label;
  $("prompt-error").textContent = "";
  input.value = value;
  input.maxLength = maxLength;
  const onSubmit = async (event) => {
    event.preventDefault();
    $("prompt-ok").disabled = true;
    const error = await submit(input.value.trim());
    $("prompt-ok").disabled = false;
    if (error === null) dialog.close();
    else $("prompt-error").textContent = error;
  };
  form.addEventListener("submit", onSubmit);
  dialog.addEventListener("close", () => form.removeEventListener("submit", onSubmit), { once: true });
  showDialog(dialog);
  input.select();
}

/** A list of actions; choosing one closes the menu, then runs it. */
function menuDialog(title, text, actions) {
  const dialog = $("menu-dialog");
  $("menu-title").textContent = title;
  $("menu-text").textContent = text;
  $("menu-error").textContent = "";
  $("menu-actions").replaceChildren(...actions.map(({ label, run: action, danger }) => {
    const button = el("button", { type: "button", class: danger ? "danger" : "" }, label);
    button.addEventListener("click", () => {
      dialog.close();
      Promise.resolve().then(action).catch((refusal) => notice(null, refusal.message, "error"));
    });
    return button;
  }));
  showDialog(dialog);
  const first = $("menu-actions").querySelector("button");
  if (first) first.focus();
}

/** Turns a request into a prompt submit: null when it worked, else its sentence. */
const attempt = (action) => async (value) => {
  try {
    await action(value);
    return null;
  } catch (refusal) {
    return refusal.message;
  }
};

function editTopic(conv) {
  promptDialog({
    title: `Topic of #${conv.name}`, label: "Topic", value: conv.topic || "",
    submit: attempt((topic) => connection.request({ type: "topic", room: conv.name, topic })),
  });
}

function roomMenu() {
  const conv = active();
  if (!conv || conv.kind !== "room") return;
  const actions = [];
  if (!conv.joined) {
    actions.push({ label: "Enter again", run: () => joinOrAsk(conv.name) });
    actions.push({ label: "Remove from the list", run: () => part(conv) });
  } else {
    if (conv.host) {
      actions.push({ label: "Edit topic…", run: () => editTopic(conv) });
      if (conv.locked) {
        actions.push({
          label: "Invite someone…",
          run: () => promptDialog({ title: `Invite to #${conv.name}`, label: "Screen name", maxLength: 24, submit: attempt((name) => invite(conv, name)) }),
        });
      }
      actions.push({ label: conv.locked ? "Change password…" : "Set password…", run: () => setPassword(conv) });
      if (conv.locked) actions.push({ label: "Remove password", run: () => removePassword(conv) });
    }
    actions.push({ label: "Leave room", run: () => part(conv) });
    if (conv.host) {
      actions.push({
        label: "Close room…", danger: true,
        run: () => menuDialog(`Close #${conv.name}?`, "The room and its whole history are deleted; everyone in it is moved out.", [
          { label: `Close #${conv.name}`, danger: true, run: () => closeRoom(conv) },
        ]),
      });
    }
  }
  const hosting = conv.host ? "You are a host here." : "";
  const count = conv.members.length === 1 ? "1 member" : `${conv.members.length} members`;
  menuDialog(`#${conv.name}`, `${count}. ${hosting}`, actions);
}

function memberMenu(conv, name) {
  const member = conv.members.find((m) => m.name === name);
  if (!member) return;
  const actions = [];
  const me = name === state.me;
  if (!me) {
    actions.push({ label: "Send a private message", run: () => open(conversation("private", name).key) });
  }
  if (conv.host) {
    if (!member.host) actions.push({ label: "Make host", run: () => connection.request({ type: "host_add", room: conv.name, name }) });
    else actions.push({ label: me ? "Step down as host" : "Remove host", run: () => connection.request({ type: "host_remove", room: conv.name, name }) });
    if (!me) {
      actions.push({
        label: "Kick…", danger: true,
        run: () => promptDialog({
          title: `Kick ${name} from #${conv.name}`, label: "Reason (optional)",
          submit: attempt((reason) => connection.request(reason ? { type: "kick", room: conv.name, name, reason } : { type: "kick", room: conv.name, name })),
        }),
      });
    }
  }
  const role = member.host ? "a host" : "a member";
  menuDialog(name, `${me ? "You are" : `${name} is`} ${role} of #${conv.name}.`, actions);
}

async function openRoomBrowser() {
  const dialog = $("browse-dialog");
  $("browse-error").textContent = "";
  $("room-table").replaceChildren(el("tr", {}, el("td", { colSpan: 4 }, "Loading…")));
  if (!dialog.open) showDialog(dialog);
  let list;
  try {
    list = await connection.request({ type: "rooms" });
  } catch (refusal) {
    $("browse-error").textContent = refusal.message;
    return;
  }
  $("room-table").replaceChildren(...list.rooms.map((r) => {
    const name = el("td", {}, el("span", { class: "conv-name" }, `#${r.name}`));
    if (r.locked) name.append(" ", lockIcon(), el("span", { class: "visually-hidden" }, " (locked)"));
    const button = el("button", { type: "button", "aria-label": `${r.joined ? "Open" : "Enter"} #${r.name}` }, r.joined ? "Open" : "Enter");
    button.addEventListener("click", () => {
      dialog.close();
      joinOrAsk(r.name).catch((refusal) => notice(null, refusal.message, "error"));
    });
    return el("tr", {}, name, el("td", { class: "count" }, String(r.members)), el("td", { class: "topic-cell" }, r.topic || ""), el("td", {}, button));
  }));
}

// ---------------------------------------------------------------- keys

/** The help overlay: the keys, then the commands (from the same table `:help` reads). */
function openHelp() {
  const dialog = $("help-dialog");
  if (dialog.open) return;
  $("help-commands").replaceChildren(...COMMANDS.map((c) => el("li", {},
    el("kbd", {}, `:${c.name}${c.usage ? " " + c.usage : ""}`), ` ${c.summary}`)));
  showDialog(dialog);
  dialog.querySelector("[data-close]").focus();
}

/** Whether `node` takes typing (where `?` is a character, not a key). */
const typingIn = (node) => node && (node.tagName === "INPUT" || node.tagName === "TEXTAREA" || node.isContentEditable);

/** Tab in the input: the name the word before the caret begins, again for the next one. */
let completion = null;

function completeName(input) {
  const caret = input.selectionStart;
  if (caret !== input.selectionEnd) return false;
  if (!completion || completion.value !== input.value || completion.caret !== caret) {
    const start = input.value.slice(0, caret).search(/\S*$/);
    const word = input.value.slice(start, caret);
    const at = word.startsWith("@") ? 1 : 0;
    const prefix = word.slice(at).toLowerCase();
    if (!prefix) return false;
    const conv = active();
    const names = new Set(conv && conv.kind === "room" ? conv.members.map((m) => m.name) : []);
    for (const other of state.conversations.values()) if (other.kind === "private") names.add(other.name);
    names.delete(state.me);
    const candidates = [...names]
      .filter((name) => name.toLowerCase().startsWith(prefix))
      .sort((a, b) => a.localeCompare(b, undefined, { sensitivity: "base" }));
    if (!candidates.length) return false;
    completion = {
      head: input.value.slice(0, start + at), tail: input.value.slice(caret), candidates, index: -1,
      // A name that starts the line is spoken to: "bob: ".
      suffix: start === 0 && at === 0 ? ": " : " ",
    };
  }
  completion.index = (completion.index + 1) % completion.candidates.length;
  const done = completion.head + completion.candidates[completion.index] + completion.suffix;
  input.value = done + completion.tail;
  input.setSelectionRange(done.length, done.length);
  completion.value = input.value;
  completion.caret = done.length;
  return true;
}

/** Up and Down in the input: the lines typed before, newest first, then back to an empty line. */
let recalled = null;

function recall(input, step) {
  const showing = recalled !== null && input.value === state.typed[recalled];
  if (!showing && !(step < 0 && input.value === "")) return false;
  const from = showing ? recalled : state.typed.length;
  const to = from + step;
  if (to < 0) return showing;
  if (to >= state.typed.length) {
    if (!showing) return false;
    recalled = null;
    input.value = "";
    return true;
  }
  recalled = to;
  input.value = state.typed[to];
  input.setSelectionRange(input.value.length, input.value.length);
  return true;
}

function remember(line) {
  if (state.typed[state.typed.length - 1] !== line) state.typed.push(line);
  if (state.typed.length > RECALL_LINES) state.typed.shift();
  recalled = null;
}

/** Says under the input how long a line is for the server, once it is over the limit. */
function showLength() {
  const input = $("input");
  const bytes = utf8Length(input.value);
  const over = bytes > MAX_TEXT_BYTES;
  input.setAttribute("aria-invalid", String(over));
  $("input-hint").textContent = over ? `${bytes} bytes: at most ${MAX_TEXT_BYTES} can be sent.` : "";
}

function onInputKey(event) {
  const input = event.currentTarget;
  if (event.key === "Tab" && !event.shiftKey && !event.ctrlKey && !event.altKey && !event.metaKey) {
    // With no name to complete, Tab moves on as always.
    if (completeName(input)) event.preventDefault();
    return;
  }
  completion = null;
  if ((event.key === "ArrowUp" || event.key === "ArrowDown") && !event.shiftKey && !event.ctrlKey && !event.altKey && !event.metaKey) {
    if (recall(input, event.key === "ArrowUp" ? -1 : 1)) event.preventDefault();
  }
}

function onKey(event) {
  const dialogOpen = document.querySelector("dialog[open]");
  if (event.key === "Escape" && document.body.classList.contains("sidebar-open") && !dialogOpen) {
    event.preventDefault();
    closeSidebar();
    $("sidebar-toggle").focus();
    return;
  }
  if (dialogOpen) return;
  if ((event.key === "?" && !typingIn(event.target) && !event.ctrlKey && !event.altKey && !event.metaKey)
    || (event.key === "/" && event.ctrlKey)) {
    event.preventDefault();
    openHelp();
    return;
  }
  // Alt+Up / Alt+Down: the previous or next conversation; with Shift, the previous or next with unread messages.
  if (!event.altKey || (event.key !== "ArrowUp" && event.key !== "ArrowDown")) return;
  const step = event.key === "ArrowDown" ? 1 : -1;
  event.preventDefault();
  if (event.shiftKey) {
    if (!openNextUnread(step)) notice(null, "Nothing unread.");
  } else {
    const keys = [...state.conversations.keys()];
    if (!keys.length) return;
    const at = keys.indexOf(state.active);
    open(keys[(at + step + keys.length) % keys.length]);
  }
  $("input").focus();
}

// ---------------------------------------------------------------- wiring

function openSidebar() {
  document.body.classList.add("sidebar-open");
  $("sidebar-toggle").setAttribute("aria-expanded", "true");
  ($("sidebar").querySelector("button[aria-current='page']") || $("sidebar").querySelector(".conversation") || $("sidebar-close")).focus();
}

/** Closes the phone's drawer; focus inside it goes back to the Rooms button. */
function closeSidebar() {
  if (!document.body.classList.contains("sidebar-open")) return;
  document.body.classList.remove("sidebar-open");
  $("sidebar-toggle").setAttribute("aria-expanded", "false");
  if (document.activeElement && document.activeElement.closest("#sidebar")) $("sidebar-toggle").focus();
}

function submitLine(event) {
  event.preventDefault();
  const input = $("input");
  const line = input.value;
  if (line.trim() === "") return;
  const parsed = parseLine(line);
  if (parsed.forget) input.value = "";
  else remember(line);
  // Lines to say are queued and go when the connection is back; anything else needs it now.
  const queued = parsed.chat !== undefined || QUEUED.has(parsed.command);
  if (!queued && !parsed.error && !state.registered) {
    notice(null, "Not connected; your command is still in the input. It can be run once reconnected.", "error");
    return;
  }
  input.value = "";
  showLength();
  run(line).catch((refusal) => {
    if (refusal.code === "too_long") {
      $("input-hint").textContent = refusal.message;
      if (input.value === "") input.value = line;
      return;
    }
    notice(null, refusal.message, "error");
    if (queued && input.value === "") input.value = line;
  });
}

function start() {
  for (const dialog of document.querySelectorAll("dialog")) wireDialog(dialog);
  const notify = $("notify-button");
  notify.hidden = !("Notification" in window) || Notification.permission !== "default";
  notify.addEventListener("click", () => {
    Notification.requestPermission().then(() => {
      notify.hidden = true;
    });
  });
  const saved = localStorage.getItem("banter.name");
  if (saved) $("name-input").value = saved;

  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const name = $("name-input").value.trim();
    $("login-error").textContent = "";
    if (!name) {
      $("login-error").textContent = "Type a screen name.";
      return;
    }
    state.wanted = name;
    if (connection.isOpen) hello();
    else connection.connect();
  });

  $("composer").addEventListener("submit", submitLine);
  $("input").addEventListener("keydown", onInputKey);
  $("input").addEventListener("input", showLength);
  $("log-box").addEventListener("scroll", () => {
    const conv = active();
    if (conv && logBox().scrollTop < NEAR_TOP) loadOlder(conv);
  });
  $("older-button").addEventListener("click", () => active() && loadOlder(active()));
  $("browse-button").addEventListener("click", () => openRoomBrowser());
  $("new-room-button").addEventListener("click", () => promptDialog({
    title: "New room", label: "Room name (1–32 letters, digits, _ - .)", maxLength: 32,
    submit: attempt((name) => create(name)),
  }));
  $("create-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const name = $("create-input").value.trim();
    create(name).then(() => {
      $("create-input").value = "";
      $("browse-dialog").close();
    }, (refusal) => {
      $("browse-error").textContent = refusal.message;
    });
  });
  $("topic-button").addEventListener("click", () => active() && editTopic(active()));
  $("room-menu-button").addEventListener("click", () => roomMenu());
  $("help-button").addEventListener("click", () => openHelp());
  $("sidebar-toggle").addEventListener("click", () => {
    if (document.body.classList.contains("sidebar-open")) closeSidebar();
    else openSidebar();
  });
  $("sidebar-close").addEventListener("click", () => {
    closeSidebar();
    $("sidebar-toggle").focus();
  });
  // A tap beside the open drawer closes it (and reaches nothing underneath);
  // the tap took focus out of the drawer, so it is put on the Rooms button.
  $("drawer-backdrop").addEventListener("click", () => {
    closeSidebar();
    $("sidebar-toggle").focus();
  });
  $("members-toggle").addEventListener("click", () => {
    const hidden = document.body.classList.toggle("members-hidden");
    $("members-toggle").setAttribute("aria-expanded", String(!hidden));
  });
  document.addEventListener("keydown", onKey);
  document.addEventListener("visibilitychange", () => {
    const conv = active();
    if (document.visibilityState === "visible" && conv && conv.unread) open(conv.key);
    if (document.visibilityState === "hidden") saveSession();
  });
  window.addEventListener("pagehide", () => saveSession());
  if (window.matchMedia("(max-width: 900px)").matches) {
    document.body.classList.add("members-hidden");
    $("members-toggle").setAttribute("aria-expanded", "false");
  }
  // A reload in this tab takes its session back. Otherwise the name field
  // has focus now, before the page reports loaded (an `autofocus` attribute
  // is applied at the browser's next rendering step, which can come later).
  if (restoreSession()) connection.connect();
  else $("name-input").focus();
}

start();
