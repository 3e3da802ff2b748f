// The text door's colon-commands, typed into the input line: parsed here
// into actions the page carries out with banter/1 requests. Names, aliases
// and argument shapes are the text door's (banter-proto's table), so people
// can use what they know; what only the page has is marked `pageOnly` (a
// command) or `pageAliases` (more names for one), and a test in the
// banter-wire crate holds the rest to proto's table.

/** Each command: its names, its argument shape, and a one-line summary. */
export const COMMANDS = [
  { name: "help", aliases: ["h"], shape: "optional-word", usage: "[command]", summary: "list the commands, or explain one" },
  { name: "exit", aliases: ["e", "quit", "q"], shape: "none", usage: "", summary: "leave the chat" },
  { name: "change-room", aliases: ["cr", "changeroom", "change_room"], pageAliases: ["join", "j"], shape: "word", usage: "<room>", summary: "enter a room (asks for its password if it has one)" },
  { name: "new", aliases: ["n", "nr"], shape: "word", usage: "<room>", summary: "create a room and enter it" },
  { name: "part", aliases: ["leave"], pageOnly: true, shape: "optional-word", usage: "[room]", summary: "leave this room, or the one named" },
  { name: "erm", aliases: ["era"], shape: "word-text", usage: "<room> <message>", summary: "send a message into another room from this one" },
  { name: "rooms", aliases: ["ls", "list"], shape: "none", usage: "", summary: "browse every room" },
  { name: "who", aliases: ["users"], shape: "optional-word", usage: "[room|*]", summary: "who is in this room, another, or everywhere (*)" },
  { name: "whois", aliases: [], shape: "word", usage: "<name>", summary: "who a user is: their rooms, away or not, operator or not (operators see their address)" },
  { name: "msg", aliases: ["dm", "w"], shape: "word-text", usage: "<name> <message>", summary: "a private message" },
  { name: "nick", aliases: [], shape: "word", usage: "<name>", summary: "change your screen name" },
  { name: "me", aliases: [], shape: "text", usage: "<action>", summary: "act something out" },
  { name: "history", aliases: [], shape: "optional-word", usage: "[n]", summary: "fetch the last n messages of this room again" },
  { name: "topic", aliases: [], shape: "optional-text", usage: "[text]", summary: "show the topic; hosts set it" },
  { name: "hostadd", aliases: [], shape: "word", usage: "<name>", summary: "(host) make a member a host" },
  { name: "hostrm", aliases: [], shape: "word", usage: "<name>", summary: "(host) take host rights away" },
  { name: "passwd", aliases: [], shape: "optional-word", usage: "[off]", summary: "(host) set the password (asked twice, hidden), or off" },
  { name: "unlock", aliases: [], shape: "none", usage: "", summary: "(host) remove the password" },
  { name: "kick", aliases: [], shape: "word-optional-text", usage: "<name> [reason]", summary: "(host) remove a member" },
  { name: "invite", aliases: [], shape: "word", usage: "<name>", summary: "(host) let someone into this locked room once" },
  { name: "close", aliases: [], shape: "none", usage: "", summary: "(host) delete this room and its history" },
  { name: "mode", aliases: ["modes"], shape: "optional-word", usage: "[+m|-m|+i|-i|+s|-s|+t|-t|+n|-n]", summary: "show this room's modes; hosts change them (:mode +m)" },
  { name: "voice", aliases: [], shape: "word", usage: "<name>", summary: "(host) let a member speak while the room is moderated" },
  { name: "devoice", aliases: [], shape: "word", usage: "<name>", summary: "(host) take a member's voice" },
  { name: "ban", aliases: [], shape: "word", usage: "<mask>", summary: "(host) ban a name pattern (* and ?) from this room" },
  { name: "unban", aliases: [], shape: "word", usage: "<mask>", summary: "(host) lift a ban" },
  { name: "bans", aliases: [], shape: "optional-word", usage: "[room]", summary: "(host) list this room's bans" },
  { name: "set", aliases: [], shape: "switch", usage: "timestamps on|off", summary: "(text door only: the page always shows times)" },
  { name: "oper", aliases: [], shape: "word", usage: "<name>", summary: "become a server operator (the password is asked for, hidden)" },
  { name: "kill", aliases: [], shape: "word-optional-text", usage: "<name> [reason]", summary: "(operator) disconnect a user" },
  { name: "serverban", aliases: ["sban"], shape: "word-optional-text", usage: "<mask> [duration] [reason]", summary: "(operator) ban a name pattern or an address from the server" },
  { name: "serverunban", aliases: ["sunban"], shape: "word", usage: "<mask>", summary: "(operator) lift a server ban" },
  { name: "serverbans", aliases: ["sbans"], shape: "none", usage: "", summary: "(operator) list the server bans in force" },
  { name: "announce", aliases: ["wallops"], shape: "text", usage: "<text>", summary: "(operator) a notice to everyone connected" },
];

/** Each room mode's letter and its name in banter/1. */
export const MODES = { i: "invite_only", m: "moderated", n: "no_external", s: "secret", t: "topic_lock" };

/**
 * A mode change typed as letters (`+m`, `-nt`, `+i-s`) as `[name, on]`
 * pairs, or a sentence saying what is wrong.
 */
export function parseModes(text) {
  let on = null;
  const changes = [];
  for (const c of text) {
    if (c === "+" || c === "-") { on = c === "+"; continue; }
    if (on === null) return "a mode change starts with + or - (for example +m)";
    if (!MODES[c]) return `${JSON.stringify(c)} is not a room mode; the modes are i, m, n, s and t`;
    changes.push([MODES[c], on]);
  }
  return changes.length ? changes : "no mode letter given (i, m, n, s or t)";
}

/** `30m`, `12h`, `7d` (s, m, h, d, w) in seconds, as the text door reads a ban's duration; null otherwise. */
export function parseDuration(word) {
  const match = /^(\d+)([smhdw])$/i.exec(word || "");
  if (!match) return null;
  const scale = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[match[2].toLowerCase()];
  const seconds = Number(match[1]) * scale;
  return seconds > 0 && Number.isSafeInteger(seconds) ? seconds : null;
}

/** The command `word` names (by its name or any alias, ignoring case), if any. */
export function findCommand(word) {
  const lower = word.toLowerCase();
  return COMMANDS.find((c) => c.name === lower || c.aliases.includes(lower) || (c.pageAliases || []).includes(lower));
}

/**
 * What a typed line asks for:
 * `{ chat: text }`, `{ command: name, word, text }`, or `{ error: sentence }`
 * (with `forget` when the line held what may be a password and must go).
 * `::text` is chat starting with one colon, as on the text door.
 */
export function parseLine(line) {
  if (!line.startsWith(":")) return { chat: line };
  if (line.startsWith("::")) return { chat: line.slice(1) };
  const body = line.slice(1).trimStart();
  const space = body.search(/\s/);
  const word = space < 0 ? body : body.slice(0, space);
  const rest = space < 0 ? "" : body.slice(space).trim();
  if (word === "") return { error: "type a command after ':' (see :help)" };
  const spec = findCommand(word);
  if (!spec) return { error: `unknown command :${word} (see :help)` };
  const usage = `usage: :${spec.name}${spec.usage ? " " + spec.usage : ""}`;
  const split = rest.search(/\s/);
  const first = split < 0 ? rest : rest.slice(0, split);
  const after = split < 0 ? "" : rest.slice(split).trim();
  let parsed;
  switch (spec.shape) {
    case "none":
      if (rest) return { error: `:${word} takes no argument; ${usage}` };
      parsed = {};
      break;
    case "word":
      if (!first) return { error: `:${word} is missing ${spec.usage}; ${usage}` };
      if (after) return { error: `:${word} takes one word; ${usage}` };
      parsed = { word: first };
      break;
    case "optional-word":
      if (after) return { error: `:${word} takes at most one word; ${usage}` };
      parsed = { word: first || null };
      break;
    case "word-text":
      if (!first || !after) return { error: `:${word} is missing ${spec.usage}; ${usage}` };
      parsed = { word: first, text: after };
      break;
    case "word-optional-text":
      if (!first) return { error: `:${word} is missing ${spec.usage}; ${usage}` };
      parsed = { word: first, text: after || null };
      break;
    case "text":
      if (!rest) return { error: `:${word} is missing ${spec.usage}; ${usage}` };
      parsed = { text: rest };
      break;
    case "switch":
      // `<setting> on|off`, the setting named by the usage's first word.
      if (!new RegExp(`^${spec.usage.split(" ")[0]}\\s+(on|off)$`, "i").test(rest)) {
        return { error: `:${word} takes ${spec.usage}; ${usage}` };
      }
      parsed = { text: rest.toLowerCase() };
      break;
    default:
      parsed = { text: rest || null };
  }
  if (spec.name === "passwd" && parsed.word && parsed.word.toLowerCase() !== "off") {
    // Never take a password on the visible input line.
    return {
      error: ":passwd takes no password on the input line; type :passwd and it is asked for, hidden (or :passwd off)",
      forget: true,
    };
  }
  return { command: spec.name, ...parsed };
}
