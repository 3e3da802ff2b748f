// The banter web page: its state (conversations, members, unread counts),
// what the user does (forms, dialogs, typed colon-commands) and what the
// server says (banter/1 events), tied together. The DOM is built by
// view.js, the connection is protocol.js's.

import { Connection, Refusal, socketUrl } from "./protocol.js";
import { COMMANDS, findCommand, parseDuration, parseLine } from "./commands.js";
import { dayItem, dayKey, el, lockIcon, mentions, messageItem, noticeItem } from "./view.js";

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

const state = {
  /** The name the server accepted. */
  me: null,
  /** The name to say hello with, again after a reconnect. */
  wanted: null,
  welcomedOnce: false,
  /** key → conversation, in sidebar order. */
  conversations: new Map(),
  active: null,
  /** Order of notices, so they sort after the messages they followed. */
  seq: 0,
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
    conv = {
      key, kind, name, items: [], ids: new Set(), unread: 0, mention: false,
      members: [], host: false, locked: false, topic: null, joined: kind === "private",
      newest: null, oldest: null, atStart: kind === "private", loading: false, needsPassword: false,
    };
    state.conversations.set(key, conv);
  }
  return conv;
}

const room = (name) => state.conversations.get(roomKey(name));
const active = () => state.conversations.get(state.active);

/** Where an item sorts: messages by id, the rest after the message they followed. */
function sortKey(item) {
  return item.id != null ? [item.id, 0, 0] : [item.after, 1, item.seq];
}

function before(a, b) {
  const x = sortKey(a);
  const y = sortKey(b);
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] < y[i];
  return false;
}

/** Adds messages and notices, each message once; returns how many messages were new. */
function addItems(conv, items) {
  let fresh = 0;
  let appendOnly = true;
  const added = [];
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
    const last = conv.items[conv.items.length - 1];
    if (!last || before(last, item)) {
      conv.items.push(item);
    } else {
      let at = conv.items.length;
      while (at > 0 && before(item, conv.items[at - 1])) at--;
      conv.items.splice(at, 0, item);
      appendOnly = false;
    }
    added.push(item);
  }
  if (conv.key === state.active && added.length) {
    if (appendOnly) appendToLog(added);
    else renderLog({ keepBottom: true });
  }
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

/**
 * Counts a message toward the unread mark of a conversation not being read;
 * a mention or a private message also makes a desktop notification when
 * the user allowed them and is looking elsewhere.
 */
function arrived(conv, from, text, always) {
  const reading = conv.key === state.active && document.visibilityState === "visible";
  if (reading || from === state.me) return;
  conv.unread += 1;
  const mentioned = always || mentions(text, state.me);
  if (mentioned) conv.mention = true;
  renderSidebar();
  if (mentioned && document.visibilityState === "hidden" && "Notification" in window && Notification.permission === "granted") {
    const title = conv.kind === "room" ? `${from} in #${conv.name}` : `${from} (private)`;
    const shown = new Notification(title, { body: text, tag: conv.key });
    shown.addEventListener("click", () => {
      window.focus();
      open(conv.key);
    });
  }
}

// ---------------------------------------------------------------- the log

let renderedDay = null;

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

function appendToLog(items) {
  const follow = nearBottom();
  const list = $("messages");
  for (const item of items) {
    if (dayKey(item.at) !== renderedDay) {
      renderedDay = dayKey(item.at);
      list.append(dayItem(item.at));
    }
    list.append(itemNode(item));
  }
  if (follow) logBox().scrollTop = logBox().scrollHeight;
}

/** Draws the active conversation's log; keeps the reader's place unless `toBottom`. */
function renderLog({ toBottom = false, keepBottom = false } = {}) {
  const conv = active();
  const box = logBox();
  const fromBottom = box.scrollHeight - box.scrollTop;
  const follow = toBottom || (keepBottom && nearBottom());
  const nodes = [];
  renderedDay = null;
  for (const item of conv ? conv.items : []) {
    if (dayKey(item.at) !== renderedDay) {
      renderedDay = dayKey(item.at);
      nodes.push(dayItem(item.at));
    }
    nodes.push(itemNode(item));
  }
  $("messages").replaceChildren(...nodes);
  const start = !conv || conv.atStart;
  $("older-button").hidden = start;
  $("log-start").hidden = !start;
  box.scrollTop = follow ? box.scrollHeight : box.scrollHeight - fromBottom;
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
  if (conv.loading || conv.atStart || conv.kind !== "room" || !conv.joined) return;
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
    if (conv.key === state.active) renderLog();
  } catch (refusal) {
    conv.loading = false;
    notice(conv, refusal.message, "error");
  } finally {
    $("older-button").disabled = false;
  }
}

// ---------------------------------------------------------------- sidebar, header, members

function renderSidebar() {
  const rooms = [];
  const privates = [];
  let total = 0;
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
      parts.push(el("span", { class: "mention-mark", title: "mentions you", "aria-hidden": "true" }, "@"));
      label.push("mentions you");
    }
    if (conv.unread) {
      parts.push(el("span", { class: "badge", "aria-hidden": "true" }, String(conv.unread)));
      label.push(`${conv.unread} unread`);
    }
    const button = el("button", {
      type: "button", class: `conversation${conv.joined ? "" : " gone"}`, "aria-label": label.join(", "),
      "aria-current": conv.key === state.active ? "page" : false, "data-key": conv.key,
    }, ...parts);
    button.addEventListener("click", () => open(conv.key));
    (conv.kind === "room" ? rooms : privates).push(el("li", {}, button));
  }
  $("room-list").replaceChildren(...rooms);
  $("private-list").replaceChildren(...privates);
  $("private-empty").hidden = privates.length > 0;
  document.title = total ? `(${total}) banter` : "banter";
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

function renderMembers() {
  const conv = active();
  const members = conv && conv.kind === "room" && conv.joined ? conv.members : [];
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
  state.active = key;
  conv.unread = 0;
  conv.mention = false;
  renderSidebar();
  renderHeader();
  renderMembers();
  renderLog({ toBottom: true });
  closeSidebar();
  if (conv.needsPassword) joinWithPassword(conv.name);
}

function openAny() {
  const first = state.conversations.keys().next();
  if (first.done) {
    state.active = null;
    renderSidebar();
    renderHeader();
    renderMembers();
    renderLog();
  } else {
    open(first.value);
  }
}

// ---------------------------------------------------------------- connection and rooms

function showStatus(status, retryIn) {
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
  if (!state.welcomedOnce) $("login-status").textContent = status === "waiting" ? "Cannot reach the server; trying again…" : "";
}

async function hello() {
  if (!state.wanted) return;
  let welcome;
  try {
    welcome = await connection.request({ type: "hello", name: state.wanted });
  } catch (refusal) {
    if (!state.welcomedOnce) {
      $("login-error").textContent = refusal.message;
      $("name-input").focus();
    } else if (refusal.code === "name_taken") {
      // The old connection may not be gone yet: try again shortly.
      $("status").textContent = "Waiting for your name to be free again…";
      connection.reconnectLater();
    } else {
      $("status").textContent = refusal.message;
    }
    return;
  }
  state.me = welcome.name;
  state.wanted = welcome.name;
  $("me").textContent = state.me;
  if (!state.welcomedOnce) {
    state.welcomedOnce = true;
    localStorage.setItem("banter.name", state.me);
    $("login").hidden = true;
    $("app").hidden = false;
    renderHeader();
    $("input").focus();
    enterDefaultRoom();
  } else {
    rejoin();
  }
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

/** After a reconnect: enter every room again and fill what was missed. */
function rejoin() {
  for (const conv of state.conversations.values()) {
    if (conv.kind !== "room" || !conv.joined) continue;
    connection.request({ type: "join", room: conv.name }).then(
      (joined) => entered(joined),
      (refusal) => {
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
  if (conv.newest === null && history.length === 0) conv.atStart = true;
  addItems(conv, history);
  if (newestBefore !== null && history.length && history[0].id > newestBefore) {
    fillGap(conv, history[0].id, newestBefore);
  }
  renderSidebar();
  if (conv.key === state.active) {
    renderHeader();
    renderMembers();
    renderLog({ keepBottom: true });
  }
  return conv;
}

/** Fetches the messages between `known` and `from` (ids), each once. */
async function fillGap(conv, from, known) {
  let cursor = from;
  for (let page = 0; page < GAP_PAGES; page++) {
    let reply;
    try {
      reply = await connection.request({ type: "history", room: conv.name, limit: GAP_PAGE, before: cursor });
    } catch (refusal) {
      notice(conv, `Could not fetch the messages missed: ${refusal.message}`, "error");
      return;
    }
    const messages = reply.messages.map(messageFrom).filter((m) => m.id > known);
    addItems(conv, messages);
    if (messages.length < reply.messages.length || reply.messages.length === 0) return;
    cursor = reply.messages[0].id;
  }
  // Too much was missed: keep the newest part and let scrolling up page back, with no hole.
  conv.items = conv.items.filter((item) => (item.id ?? item.after) >= cursor);
  conv.ids = new Set(conv.items.filter((item) => item.id != null).map((item) => item.id));
  conv.oldest = cursor;
  conv.atStart = false;
  if (conv.key === state.active) renderLog({ keepBottom: true });
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
  state.conversations.delete(conv.key);
  if (state.active === conv.key) openAny();
  else renderSidebar();
}

// ---------------------------------------------------------------- server events

function onEvent(frame) {
  const conv = frame.room ? room(frame.room) : null;
  switch (frame.type) {
    case "message": {
      if (!conv) return;
      addItems(conv, [messageFrom(frame)]);
      arrived(conv, frame.from, frame.text, false);
      return;
    }
    case "private": {
      const pm = conversation("private", frame.from);
      addItems(pm, [{ type: "message", id: null, at: frame.at, from: frame.from, text: frame.text, kind: "chat" }]);
      renderSidebar();
      arrived(pm, frame.from, frame.text, true);
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
    case "kicked":
      if (!conv) return;
      conv.joined = false;
      notice(conv, `${frame.by} removed you from #${conv.name}${frame.message ? `: ${frame.message}` : ""}`, "error");
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
  state.conversations.set(conv.key, conv);
  if (state.active === privateKey(old)) state.active = conv.key;
}

function roomClosed(name, by) {
  const conv = room(name);
  if (!conv) return;
  state.conversations.delete(conv.key);
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

async function say(conv, text, kind = "say") {
  if (!conv) throw new Refusal("no_room", "open a room first (see :rooms)");
  if (conv.kind === "private") {
    if (kind !== "say") throw new Refusal("bad_request", ":me works in rooms only");
    const sent = await connection.request({ type: "msg", to: conv.name, text });
    addItems(conv, [{ type: "message", id: null, at: Date.now(), from: state.me, text: sent.text, kind: "chat" }]);
    return;
  }
  if (!conv.joined) throw new Refusal("not_member", `you are not in #${conv.name}; :cr ${conv.name} to enter it again`);
  const said = await connection.request({ type: kind, room: conv.name, text });
  addItems(conv, [{ type: "message", id: said.message_id, at: said.at, from: state.me, text, kind: kind === "emote" ? "emote" : "chat" }]);
}

async function privateMessage(to, text) {
  const sent = await connection.request({ type: "msg", to, text });
  const conv = conversation("private", sent.to);
  addItems(conv, [{ type: "message", id: null, at: Date.now(), from: state.me, text: sent.text, kind: "chat" }]);
  open(conv.key);
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
  notice(conv, "Commands (as on the text door):");
  for (const c of COMMANDS) notice(conv, line(c));
}

/** Carries out one typed line. */
async function run(line) {
  const parsed = parseLine(line);
  if (parsed.error) throw new Refusal("bad_command", parsed.error);
  if (parsed.chat !== undefined) return say(active(), parsed.chat);
  const conv = active();
  switch (parsed.command) {
    case "help": return help(parsed.word);
    case "exit":
      connection.request({ type: "quit" }).catch(() => {});
      connection.stop();
      return;
    case "change-room": return joinOrAsk(parsed.word);
    case "new": return create(parsed.word);
    case "part": {
      const target = parsed.word ? room(parsed.word) : requireRoom();
      if (!target) throw new Refusal("not_member", `you are not in #${parsed.word}`);
      return part(target);
    }
    case "erm": {
      const from = requireRoom();
      const sent = await connection.request({ type: "say_elsewhere", room: parsed.word, from_room: from.name, text: parsed.text });
      notice(from, `sent to #${sent.room} (${sent.members} there): ${parsed.text}`);
      return;
    }
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
    case "msg": return privateMessage(parsed.word, parsed.text);
    case "nick": {
      const set = await connection.request({ type: "nick", name: parsed.word });
      renameMe(set.name);
      return;
    }
    case "me": return say(conv, parsed.text, "emote");
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

// ---------------------------------------------------------------- wiring

function closeSidebar() {
  document.body.classList.remove("sidebar-open");
  $("sidebar-toggle").setAttribute("aria-expanded", "false");
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

  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("input");
    const line = input.value;
    if (line.trim() === "") return;
    const parsed = parseLine(line);
    if (parsed.forget) input.value = "";
    if (!connection.isOpen && !parsed.error) {
      notice(null, "Not connected; your message is still in the input. It can be sent once reconnected.", "error");
      return;
    }
    input.value = "";
    run(line).catch((refusal) => {
      notice(null, refusal.message, "error");
      if (parsed.chat !== undefined && input.value === "") input.value = line;
    });
  });

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
  $("sidebar-toggle").addEventListener("click", () => {
    const opened = document.body.classList.toggle("sidebar-open");
    $("sidebar-toggle").setAttribute("aria-expanded", String(opened));
    if (opened) $("sidebar").querySelector("button").focus();
  });
  $("members-toggle").addEventListener("click", () => {
    const hidden = document.body.classList.toggle("members-hidden");
    $("members-toggle").setAttribute("aria-expanded", String(!hidden));
  });
  document.addEventListener("keydown", (event) => {
    // Alt+Up / Alt+Down: the previous or next conversation.
    if (!event.altKey || (event.key !== "ArrowUp" && event.key !== "ArrowDown")) return;
    const keys = [...state.conversations.keys()];
    if (!keys.length) return;
    const at = keys.indexOf(state.active);
    const next = (at + (event.key === "ArrowDown" ? 1 : keys.length - 1)) % keys.length;
    event.preventDefault();
    open(keys[next]);
    $("input").focus();
  });
  document.addEventListener("visibilitychange", () => {
    const conv = active();
    if (document.visibilityState === "visible" && conv && conv.unread) open(conv.key);
  });
  if (window.matchMedia("(max-width: 900px)").matches) {
    document.body.classList.add("members-hidden");
    $("members-toggle").setAttribute("aria-expanded", "false");
  }
}

start();
