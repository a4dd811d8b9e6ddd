// Unit tests of web/herald.js under Node's test runner (`node --test`),
// with a scripted WebSocket in place of the network. Run by tests/web.rs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Herald, RoomCursor, backoff, parseDates } from "../../web/herald.js";

test("backoff stays within full-jitter bounds from 1 s to the 30 s cap", () => {
  for (let attempt = 0; attempt < 12; attempt++) {
    const ceiling = Math.min(30000, 1000 * 2 ** attempt);
    assert.equal(backoff(attempt, { random: () => 0 }), 0);
    assert.equal(backoff(attempt, { random: () => 0.999999 }), Math.floor(0.999999 * ceiling));
    for (let i = 0; i < 50; i++) {
      const d = backoff(attempt);
      assert.ok(d >= 0 && d < ceiling, `attempt ${attempt}: ${d}`);
    }
  }
  assert.ok(backoff(1000, { random: () => 0.999999 }) < 30000);
});

test("a cursor delivers each seq once and in order, and spots gaps", () => {
  const c = new RoomCursor();
  assert.equal(c.since(), undefined);
  // Before the join's `subscribed`: left over from an earlier subscription.
  assert.equal(c.accept(1), "duplicate");
  c.subscribed({ recovered: false, seq: 4 });
  assert.equal(c.accept(5), "deliver");
  assert.equal(c.accept(5), "duplicate");
  assert.equal(c.accept(3), "duplicate");
  assert.equal(c.accept(7), "gap");
  assert.equal(c.accept(6), "deliver");
  assert.equal(c.since(), 6);
  // A resume keeps the position; a rehydrate takes the snapshot's.
  c.subscribed({ recovered: true, seq: 9 });
  assert.equal(c.since(), 6);
  c.subscribed({ recovered: false, seq: 20 });
  assert.equal(c.since(), 20);
});

test("date fields become Date objects, deeply", () => {
  const v = parseDates({
    ts: "2026-11-22T12:00:00.123Z",
    payload: { created_at: "2026-11-22T12:00:00.000Z", title: "2026-11-22T12:00:00.000Z", n: 1 },
    list: [{ updated_at: "2026-11-22T12:00:01.000Z" }],
  });
  assert.ok(v.ts instanceof Date && v.payload.created_at instanceof Date);
  assert.equal(v.payload.title, "2026-11-22T12:00:00.000Z");
  assert.ok(v.list[0].updated_at instanceof Date);
  assert.equal(v.ts.getTime(), Date.UTC(2026, 10, 22, 12, 0, 0, 123));
});

/** A scripted WebSocket: records what the client sends, lets the test push frames. */
class FakeSocket {
  static all = [];
  constructor(url) {
    this.url = url;
    this.sent = [];
    this.readyState = 0;
    FakeSocket.all.push(this);
  }
  open() {
    this.readyState = 1;
    this.onopen();
  }
  send(text) {
    this.sent.push(JSON.parse(text));
  }
  push(frame) {
    this.onmessage({ data: JSON.stringify(frame) });
  }
  close(code = 1006) {
    this.readyState = 3;
    this.onclose({ code, reason: "" });
  }
}

const envelope = (room, seq, extra = {}) => ({ type: "event", room, seq, event_type: "x", payload: { n: seq }, ts: "2026-11-22T12:00:00.000Z", ...extra });

test("resumes every room from the last delivered seq after a drop, without duplicates", async () => {
  FakeSocket.all = [];
  const states = [];
  const got = [];
  const h = new Herald({ url: "ws://h/ws", token: "t", WebSocket: FakeSocket, baseDelay: 1, maxDelay: 2 });
  h.on("state", (s) => states.push(s));
  h.subscribe("session:s1", { snapshot: (snap, seq) => got.push(["snap", seq]), event: (e) => got.push(e.seq) });
  const first = FakeSocket.all[0];
  assert.equal(new URL(first.url).searchParams.get("token"), "t");
  first.open();
  assert.deepEqual(first.sent, [{ type: "subscribe", room: "session:s1" }]);
  first.push({ type: "subscribed", room: "session:s1", seq: 2, recovered: false, snapshot: { session: {} } });
  first.push(envelope("session:s1", 3));
  first.push({ type: "batch-update", room: "session:s1", updates: [envelope("session:s1", 3), envelope("session:s1", 4)] });
  first.close(1006);
  await new Promise((r) => setTimeout(r, 20));
  const second = FakeSocket.all[1];
  second.open();
  assert.deepEqual(second.sent, [{ type: "subscribe", room: "session:s1", since: 4 }]);
  second.push({ type: "subscribed", room: "session:s1", seq: 6, recovered: true, snapshot: null });
  second.push(envelope("session:s1", 4));
  second.push(envelope("session:s1", 5));
  second.push(envelope("session:s1", 6));
  assert.deepEqual(got, [["snap", 2], 3, 4, 5, 6]);
  assert.deepEqual(states, ["open", "reconnecting", "open"]);
  h.close();
});

test("rehydrates from the snapshot when the server cannot replay", () => {
  FakeSocket.all = [];
  const got = [];
  const h = new Herald({ url: "ws://h/ws", WebSocket: FakeSocket });
  h.subscribe("project:p", { snapshot: (snap, seq) => got.push(["snap", seq, snap.sessions.length]), event: (e) => got.push(e.seq) });
  const ws = FakeSocket.all[0];
  ws.open();
  ws.push({ type: "subscribed", room: "project:p", seq: 100, recovered: false, snapshot: { sessions: [1, 2] } });
  ws.push(envelope("project:p", 101));
  assert.deepEqual(got, [["snap", 100, 2], 101]);
  h.close();
});

test("subscribing again to a joined room starts its new handlers from a fresh snapshot", () => {
  FakeSocket.all = [];
  const got = [];
  const h = new Herald({ url: "ws://h/ws", WebSocket: FakeSocket });
  h.subscribe("session:s1", { snapshot: (snap, seq) => got.push(["old snap", seq]), event: (e) => got.push(["old", e.seq]) });
  const ws = FakeSocket.all[0];
  ws.open();
  ws.push({ type: "subscribed", room: "session:s1", seq: 2, recovered: false, snapshot: { session: {} } });
  ws.push(envelope("session:s1", 3));
  h.subscribe("session:s1", { snapshot: (snap, seq) => got.push(["snap", seq]), event: (e) => got.push(e.seq) });
  // Asked without `since`: herald answers with a fresh snapshot.
  assert.deepEqual(ws.sent.at(-1), { type: "subscribe", room: "session:s1" });
  // Sent before the answer, so inside the snapshot: not handed out.
  ws.push(envelope("session:s1", 4));
  ws.push({ type: "subscribed", room: "session:s1", seq: 5, recovered: false, snapshot: { session: {} } });
  ws.push(envelope("session:s1", 5));
  ws.push(envelope("session:s1", 6));
  assert.deepEqual(got, [["old snap", 2], ["old", 3], ["snap", 5], 6]);
  h.close();
});

test("4003 and 4001 stop reconnecting; retry() starts again", async () => {
  for (const code of [4003, 4001]) {
    FakeSocket.all = [];
    const h = new Herald({ url: "ws://h/ws", WebSocket: FakeSocket, baseDelay: 1, maxDelay: 1 });
    const states = [];
    h.on("state", (s) => states.push(s));
    FakeSocket.all[0].open();
    FakeSocket.all[0].close(code);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(FakeSocket.all.length, 1, "reconnected after a fatal close");
    assert.deepEqual(states, ["open", "error"]);
    h.retry();
    assert.equal(FakeSocket.all.length, 2);
    h.close();
  }
});

test("gives up after maxAttempts and says offline", async () => {
  FakeSocket.all = [];
  const h = new Herald({ url: "ws://h/ws", WebSocket: FakeSocket, maxAttempts: 2, baseDelay: 1, maxDelay: 1 });
  const states = [];
  h.on("state", (s) => states.push(s));
  FakeSocket.all[0].close(1006);
  await new Promise((r) => setTimeout(r, 20));
  FakeSocket.all[1].close(1006);
  await new Promise((r) => setTimeout(r, 20));
  FakeSocket.all[2].close(1006);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(FakeSocket.all.length, 3);
  assert.deepEqual(states, ["reconnecting", "offline"]);
  h.close();
});

test("a revoked room calls revoked and is not resumed", () => {
  FakeSocket.all = [];
  const revoked = [];
  const h = new Herald({ url: "ws://h/ws", WebSocket: FakeSocket });
  h.subscribe("session:s1", { revoked: (f) => revoked.push(f.code) });
  const ws = FakeSocket.all[0];
  ws.open();
  ws.push({ type: "unsubscribed", room: "session:s1", reason: "revoked", code: 4003 });
  assert.deepEqual(revoked, [4003]);
  assert.equal(h.rooms.size, 0);
  h.close();
});

test("a silent connection is closed and resumed; retry() leaves no second socket", async () => {
  FakeSocket.all = [];
  const h = new Herald({ url: "ws://h/ws", WebSocket: FakeSocket, baseDelay: 1, maxDelay: 1 });
  const ws = FakeSocket.all[0];
  ws.open();
  ws.push({ type: "welcome", connection_id: "c", heartbeat_ms: 4 });
  await new Promise((r) => setTimeout(r, 40));
  assert.equal(ws.readyState, 3, "a silent socket stays open");
  await new Promise((r) => setTimeout(r, 20));
  assert.ok(FakeSocket.all.length >= 2, "no reconnect after silence");
  const before = FakeSocket.all.length;
  h.retry();
  h.retry();
  const live = FakeSocket.all.filter((s) => s.readyState !== 3);
  assert.equal(live.length, 1, "two sockets left open");
  assert.equal(FakeSocket.all.length, before + 2);
  h.close();
});
