// herald.js — the browser (and Node) client of herald's native WebSocket
// protocol. No build step, no dependencies: import it as an ES module.
//
//   import { Herald } from "/client/herald.js";
//   const herald = new Herald({ url: "ws://127.0.0.1:8080/ws", token });
//   herald.on("state", (state) => badge(state));
//   herald.subscribe("session:s1", {
//     snapshot: (snap, seq) => render(snap),   // fresh join, or rehydrate
//     event: (envelope) => apply(envelope),     // each once, in seq order
//     revoked: (info) => leave(info),           // access ended (4003)
//   });
//
// It reconnects with exponential backoff and full jitter, resumes every room
// from the last seq it delivered, rehydrates from the snapshot when the
// server cannot replay (`recovered: false`), never hands an event to the
// app twice or out of order, and parses date fields into `Date` objects.
// See docs/client.md.

/** Connection states, in the order a healthy connection goes through them. */
export const STATES = ["connecting", "open", "reconnecting", "offline", "error"];

/** Close codes after which reconnecting cannot help. */
export const FATAL_CLOSES = new Set([4001, 4003]);

/**
 * Delay before reconnect attempt `attempt` (0-based): full jitter over an
 * exponentially growing ceiling, `random() * min(cap, base * 2^attempt)`.
 */
export function backoff(attempt, { base = 1000, cap = 30000, random = Math.random } = {}) {
  const ceiling = Math.min(cap, base * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

const DATE_KEYS = /(^|_)(at|ts|timestamp)$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** Turns RFC 3339 strings under date-like keys (`*_at`, `ts`, `timestamp`) into `Date`s, deeply. */
export function parseDates(value) {
  if (Array.isArray(value)) return value.map(parseDates);
  if (value === null || typeof value !== "object" || value instanceof Date) return value;
  const out = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = typeof v === "string" && DATE_KEYS.test(key) && ISO.test(v) ? new Date(v) : parseDates(v);
  }
  return out;
}

/**
 * What one room has delivered: the last seq handed to the app. Decides
 * whether an envelope is new (deliver), old (drop), or past a gap (resume).
 */
export class RoomCursor {
  constructor() {
    /** Last seq delivered, or null before the first `subscribed`. */
    this.seq = null;
    /** A fresh snapshot was asked for and has not come yet. */
    this.refreshing = false;
  }

  /** The `since` to resume with, or undefined for a fresh join. */
  since() {
    return this.seq === null || this.refreshing ? undefined : this.seq;
  }

  /** Asks for a fresh snapshot of a room already joined: events until its
   * `subscribed` are dropped (herald sends none past the snapshot's seq
   * before it, so they are all in the snapshot). */
  refresh() {
    this.refreshing = true;
  }

  /** A `subscribed` frame: a fresh snapshot resets the position. */
  subscribed(frame) {
    this.refreshing = false;
    if (!frame.recovered) this.seq = frame.seq;
    else if (this.seq === null) this.seq = frame.seq;
  }

  /** "deliver", "duplicate" (already delivered, or before the join's
   * `subscribed`: left over from an earlier subscription, or covered by the
   * snapshot on its way) or "gap". */
  accept(seq) {
    if (this.seq === null || this.refreshing || seq <= this.seq) return "duplicate";
    if (seq !== this.seq + 1) return "gap";
    this.seq = seq;
    return "deliver";
  }
}

/** A herald connection with any number of rooms. */
/** A fresh `Idempotency-Key` (random, 128 bits, hex). */
export function idempotencyKey(random = globalThis.crypto) {
  const bytes = new Uint8Array(16);
  random.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * A write to herald's HTTP API that is safe to retry: it carries one
 * `Idempotency-Key` for all its tries, so a retry after a dropped
 * connection, a timeout or a 503 is done at most once by the server and
 * answered with the first answer. Other errors are not retried.
 * @param {string} method   POST, PUT, PATCH or DELETE
 * @param {string} url
 * @param {object} [body]
 * @param {object} [options]
 * @param {string} [options.token]     sent as `Authorization: Bearer`
 * @param {number} [options.attempts=4]
 * @param {number} [options.baseDelay=250]  first backoff ceiling, ms
 * @param {Function} [options.fetch]   (default: the global one)
 * @param {Function} [options.sleep]   (ms) => Promise
 * @returns {Promise<Response>} the answer (any status but 503)
 */
export async function write(method, url, body, options = {}) {
  const { token, attempts = 4, baseDelay = 250 } = options;
  const fetchFn = options.fetch || globalThis.fetch;
  const sleep = options.sleep || ((ms) => new Promise((r) => setTimeout(r, ms)));
  const headers = { "Idempotency-Key": options.key || idempotencyKey() };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const init = { method, headers, body: body === undefined ? undefined : JSON.stringify(body) };
  for (let attempt = 1; ; attempt++) {
    try {
      const resp = await fetchFn(url, init);
      if (resp.status !== 503 || attempt >= attempts) return resp;
    } catch (err) {
      if (attempt >= attempts) throw err;
    }
    await sleep(backoff(attempt - 1, { base: baseDelay, cap: 4 * baseDelay }));
  }
}

export class Herald {
  /**
   * @param {object} options
   * @param {string} options.url        the `/ws` URL
   * @param {string} [options.token]    sent as `?token=`
   * @param {number} [options.maxAttempts=Infinity]  reconnects before going `offline`
   * @param {number} [options.baseDelay=1000]  first backoff ceiling, ms
   * @param {number} [options.maxDelay=30000]  largest backoff ceiling, ms
   * @param {Function} [options.WebSocket]     constructor (default: the global one)
   */
  constructor(options) {
    this.options = { maxAttempts: Infinity, baseDelay: 1000, maxDelay: 30000, ...options };
    this.WebSocket = this.options.WebSocket || globalThis.WebSocket;
    this.state = "connecting";
    this.rooms = new Map();
    this.listeners = new Map();
    this.attempt = 0;
    this.socket = null;
    this.timer = null;
    this.silence = null;
    this.heartbeatMs = 0;
    this.closed = false;
    this.connect();
  }

  /** Listens to `state` (the new state), `close` ({code, reason}), `error`
   * (every `error` frame, also those about no room) or `message` (every frame). */
  on(name, fn) {
    if (!this.listeners.has(name)) this.listeners.set(name, new Set());
    this.listeners.get(name).add(fn);
    return () => this.listeners.get(name).delete(fn);
  }

  emit(name, value) {
    for (const fn of this.listeners.get(name) || []) fn(value);
  }

  setState(state) {
    if (state === this.state) return;
    this.state = state;
    this.emit("state", state);
  }

  /**
   * Joins `room`; `handlers` get `snapshot(snapshot, seq)` on a fresh join
   * or a rehydrate, `event(envelope)` for each event, `revoked(frame)` when
   * access ends, `error(frame)` on a refusal. On a room already joined the
   * new handlers replace the old ones and start from a fresh snapshot (herald
   * answers a repeated subscribe without `since` with one, sending nothing twice).
   */
  subscribe(room, handlers = {}) {
    const known = this.rooms.get(room);
    const entry = known || { cursor: new RoomCursor(), handlers };
    if (known) entry.cursor.refresh();
    entry.handlers = handlers;
    this.rooms.set(room, entry);
    this.sendSubscribe(room, entry);
    return () => this.unsubscribe(room);
  }

  /** Leaves `room`. */
  unsubscribe(room) {
    if (!this.rooms.delete(room)) return;
    this.send({ type: "unsubscribe", room });
  }

  /** Stops for good. */
  close() {
    this.closed = true;
    clearTimeout(this.timer);
    this.drop();
    this.setState("offline");
  }

  /** After `offline` or `error`: start again with a fresh backoff. */
  retry() {
    this.closed = false;
    this.attempt = 0;
    clearTimeout(this.timer);
    this.drop();
    this.connect();
  }

  /** Forgets the current socket (its events are ignored from now on) and closes it. */
  drop() {
    const socket = this.socket;
    this.socket = null;
    clearTimeout(this.silence);
    if (socket) socket.close(1000);
  }

  /** Closes a connection that has been silent past two heartbeats: it is
   * half-open, and the close starts a reconnect. */
  watch(socket) {
    clearTimeout(this.silence);
    if (!this.heartbeatMs || this.socket !== socket) return;
    this.silence = setTimeout(() => {
      if (this.socket === socket) socket.close(4000, "silent");
    }, 2.5 * this.heartbeatMs);
  }

  send(message) {
    if (this.socket && this.socket.readyState === 1) this.socket.send(JSON.stringify(message));
  }

  sendSubscribe(room, entry) {
    const since = entry.cursor.since();
    this.send(since === undefined ? { type: "subscribe", room } : { type: "subscribe", room, since });
  }

  connect() {
    if (this.closed) return;
    const url = new URL(this.options.url);
    if (this.options.token) url.searchParams.set("token", this.options.token);
    const socket = new this.WebSocket(url.toString());
    this.socket = socket;
    let opened = false;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      opened = true;
      this.attempt = 0;
      this.setState("open");
      for (const [room, entry] of this.rooms) this.sendSubscribe(room, entry);
    };
    socket.onmessage = (message) => {
      if (this.socket !== socket) return;
      this.watch(socket);
      this.receive(message.data);
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      clearTimeout(this.silence);
      this.emit("close", { code: event.code, reason: event.reason });
      if (this.closed) return;
      if (FATAL_CLOSES.has(event.code)) {
        this.setState("error");
        return;
      }
      if (!opened && this.options.token) {
        // A refused upgrade looks like any failure (1006): ask whether the token still holds.
        this.tokenRefused().then((refused) => (refused ? this.setState("error") : this.scheduleReconnect()));
        return;
      }
      this.scheduleReconnect();
    };
  }

  /** Whether herald says 401 to the token (only where `fetch` exists). */
  async tokenRefused() {
    if (typeof fetch !== "function") return false;
    try {
      const url = new URL("/api/me", this.options.url.replace(/^ws/, "http"));
      const resp = await fetch(url, { headers: { Authorization: `Bearer ${this.options.token}` } });
      return resp.status === 401;
    } catch {
      return false;
    }
  }

  scheduleReconnect() {
    if (this.attempt >= this.options.maxAttempts) {
      this.setState("offline");
      return;
    }
    this.setState("reconnecting");
    const delay = backoff(this.attempt, { base: this.options.baseDelay, cap: this.options.maxDelay });
    this.attempt += 1;
    this.timer = setTimeout(() => this.connect(), delay);
  }

  receive(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    this.emit("message", frame);
    switch (frame.type) {
      case "welcome":
        this.heartbeatMs = frame.heartbeat_ms;
        this.watch(this.socket);
        return;
      case "subscribed":
        return this.onSubscribed(frame);
      case "event":
        return this.onEnvelope(frame);
      case "batch-update":
        for (const envelope of frame.updates) this.onEnvelope(envelope);
        return;
      case "unsubscribed":
        if (frame.reason === "revoked") {
          const entry = this.rooms.get(frame.room);
          this.rooms.delete(frame.room);
          if (entry && entry.handlers.revoked) entry.handlers.revoked(frame);
        }
        return;
      case "error": {
        const entry = frame.room && this.rooms.get(frame.room);
        if (entry) {
          if (frame.code === "forbidden" || frame.code === "too_many_rooms") this.rooms.delete(frame.room);
          if (entry.handlers.error) entry.handlers.error(frame);
        }
        this.emit("error", frame);
        return;
      }
      default:
    }
  }

  onSubscribed(frame) {
    const entry = this.rooms.get(frame.room);
    if (!entry) return;
    entry.cursor.subscribed(frame);
    if (!frame.recovered && entry.handlers.snapshot) {
      entry.handlers.snapshot(parseDates(frame.snapshot), frame.seq);
    }
  }

  onEnvelope(envelope) {
    const entry = this.rooms.get(envelope.room);
    if (!entry) return;
    switch (entry.cursor.accept(envelope.seq)) {
      case "deliver":
        if (entry.handlers.event) entry.handlers.event(parseDates(envelope));
        return;
      case "gap":
        // Never expected from herald; rejoin from what was delivered.
        this.send({ type: "unsubscribe", room: envelope.room });
        this.sendSubscribe(envelope.room, entry);
        return;
      default:
    }
  }
}
