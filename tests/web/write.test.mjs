// herald.js `write()` against a live herald (HERALD_URL): a write whose
// answer was lost is retried with the same Idempotency-Key and done once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { write, idempotencyKey } from "../../web/herald.js";

const base = process.env.HERALD_URL;
const noWait = () => Promise.resolve();

test("a write whose answer was lost is retried and done once", async () => {
  let calls = 0;
  const flaky = async (url, init) => {
    calls += 1;
    const resp = await fetch(url, init);
    if (calls === 1) {
      await resp.arrayBuffer();
      throw new TypeError("fetch failed: connection reset"); // the answer never arrived
    }
    return resp;
  };
  const url = `${base}/api/rooms/js-writes/events`;
  const resp = await write("POST", url, { event_type: "x", payload: { n: 1 } }, { fetch: flaky, sleep: noWait });
  assert.equal(calls, 2);
  assert.equal(resp.status, 201);
  assert.equal(resp.headers.get("idempotent-replayed"), "true");
  const body = await resp.json();
  assert.equal(body.events[0].seq, 1);
  const log = await (await fetch(`${base}/api/rooms/js-writes/events`)).json();
  assert.deepEqual(log.map((e) => e.seq), [1]);
});

test("refusals are not retried; each write has its own key", async () => {
  let calls = 0;
  const counting = (url, init) => {
    calls += 1;
    return fetch(url, init);
  };
  const url = `${base}/api/rooms/js-writes/events`;
  const resp = await write("POST", url, { event_type: "unsubscribed", payload: {} }, { fetch: counting, sleep: noWait });
  assert.equal(resp.status, 422);
  assert.equal(calls, 1);
  assert.notEqual(idempotencyKey(), idempotencyKey());
  assert.match(idempotencyKey(), /^[0-9a-f]{32}$/);
});

test("gives up after the attempts and throws the last failure", async () => {
  let calls = 0;
  const down = async () => {
    calls += 1;
    throw new TypeError("fetch failed");
  };
  await assert.rejects(write("POST", `${base}/x`, {}, { fetch: down, sleep: noWait, attempts: 3 }), /fetch failed/);
  assert.equal(calls, 3);
});
