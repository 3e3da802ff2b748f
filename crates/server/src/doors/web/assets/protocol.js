// banter/1 over a WebSocket: requests with ids answered through promises,
// events handed to the page, and reconnecting with backoff when the
// connection drops. Nothing here logs: requests may carry passwords.

/** Delays before reconnect attempts, in ms; the last one repeats. */
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000];

/** The `/ws` address of the server that served this page (`wss` under TLS). */
export function socketUrl(location) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/ws`;
}

/** A refusal from the server, or a request that could not be sent. */
export class Refusal extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/**
 * One logical connection that outlives its sockets.
 * `handlers.open()` runs on every (re)connect, `handlers.event(frame)` for
 * every frame that is not the answer to a request, and
 * `handlers.status(state, retryInMs)` when the state changes:
 * "connecting", "open", "waiting" (a retry is due in retryInMs) or "closed".
 */
export class Connection {
  constructor(url, handlers) {
    this.url = url;
    this.handlers = handlers;
    this.socket = null;
    this.nextId = 1;
    this.pending = new Map();
    this.attempt = 0;
    this.retryTimer = null;
    this.stopped = false;
  }

  connect() {
    this.stopped = false;
    clearTimeout(this.retryTimer);
    this.handlers.status("connecting", 0);
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.handlers.status("open", 0);
      this.handlers.open();
    });
    socket.addEventListener("message", (event) => this.receive(event.data));
    socket.addEventListener("close", () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.failPending();
      if (this.stopped) {
        this.handlers.status("closed", 0);
      } else {
        this.retryLater();
      }
    });
  }

  /** Closes for good (after `quit`, or when the user leaves). */
  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    if (this.socket) this.socket.close();
    else this.handlers.status("closed", 0);
  }

  /**
   * The server accepted this connection (welcomed it): the next loss starts
   * the backoff afresh. A socket that opens and is then turned away (the
   * name still taken) keeps backing off.
   */
  accepted() {
    this.attempt = 0;
  }

  /** Drops the socket and reconnects with backoff (e.g. the name is still taken). */
  reconnectLater() {
    if (this.socket) this.socket.close();
    else this.retryLater();
  }

  /** Reconnects now instead of waiting for the next attempt. */
  retryNow() {
    if (this.socket) return;
    this.attempt = 0;
    this.connect();
  }

  get isOpen() {
    return this.socket !== null && this.socket.readyState === WebSocket.OPEN;
  }

  retryLater() {
    const base = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    this.attempt += 1;
    // Spread the reconnects of many pages after a restart.
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.handlers.status("waiting", delay);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  failPending() {
    const pending = this.pending;
    this.pending = new Map();
    for (const { reject } of pending.values()) {
      reject(new Refusal("disconnected", "the connection was lost"));
    }
  }

  receive(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if (frame === null || typeof frame !== "object") return;
    const waiting = frame.type !== "message" && this.pending.get(frame.id);
    if (!waiting) {
      this.handlers.event(frame);
      return;
    }
    this.pending.delete(frame.id);
    if (frame.type === "error") {
      waiting.reject(new Refusal(frame.code, frame.message));
    } else {
      waiting.resolve(frame);
    }
  }

  /** Sends `request` with a fresh id; resolves with the answer, rejects with a `Refusal`. */
  request(request) {
    if (!this.isOpen) {
      return Promise.reject(new Refusal("offline", "not connected; reconnecting"));
    }
    const id = this.nextId++;
    const promise = new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
    });
    this.socket.send(JSON.stringify({ ...request, id }));
    return promise;
  }
}
