// A seed-004 frontend's client, unchanged: socket.io-client (Node) against
// herald, with its default transports (polling, then the upgrade to a
// WebSocket). Driven by tests/socketio.rs; exits non-zero with a reason when
// something is not as expected.
//
// usage: node sio_node.mjs CLIENTS_DIR URL CLIENTS TRANSPORTS
//   TRANSPORTS: "default" (polling, then the upgrade) or a comma list ("websocket")

const [dir, url, count] = [process.argv[2], process.argv[3], Number(process.argv[4])];
const transports = process.argv[5] && process.argv[5] !== "default" ? process.argv[5].split(",") : undefined;
const { io } = await import(`${dir}/node/node_modules/socket.io-client/build/esm-debug/index.js`);
const WAIT = 10_000;

const fail = (why) => {
  console.error(why);
  process.exit(1);
};
setTimeout(() => fail("timed out"), 4 * WAIT).unref();

const post = async (path, body) => {
  const resp = await fetch(url + path, {
    method: "POST",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return resp.json();
};

const project = (await post("/projects", { name: "node" })).id;
const session = (await post(`/projects/${project}/sessions`)).session_id;

const clients = [];
for (let i = 0; i < count; i++) {
  const socket = io(url, { path: "/socket.io/", reconnection: false, transports });
  await new Promise((ok, no) => {
    socket.on("connect", ok);
    socket.on("connect_error", no);
  });
  const ack = await socket.timeout(WAIT).emitWithAck("subscribe", { project_id: project });
  if (!ack.ok || ack.room !== `project:${project}`) fail(`subscribe ack: ${JSON.stringify(ack)}`);
  clients.push(socket);
}

// Wait for the upgrade the default transports perform.
for (const socket of transports ? [] : clients) {
  const engine = socket.io.engine;
  if (engine.transport.name !== "websocket") {
    await new Promise((ok) => engine.once("upgrade", ok));
  }
}

const counts = clients.map(() => 0);
const seen = clients.map((socket, i) =>
  new Promise((ok) =>
    socket.on("message_created", (data) => {
      counts[i] += 1;
      ok(data);
    }),
  ),
);
await post(`/sessions/${session}/messages`, { prompt: "Add a new feature" });
const data = await Promise.all(seen);
if (data.some((d) => JSON.stringify(d) !== JSON.stringify(data[0]))) fail("clients saw different data");
if (data[0].content !== "Add a new feature" || data[0].session_id !== session) fail(`message: ${JSON.stringify(data[0])}`);

for (const socket of clients) {
  const beat = await new Promise((ok) => socket.once("heartbeat", ok));
  if (beat.connections < count) fail(`heartbeat counts ${beat.connections} < ${count}`);
  // Still on its WebSocket, and still answering pings (no probe went astray).
  if (socket.io.engine.transport.name !== "websocket") fail(`transport ${socket.io.engine.transport.name}`);
}
// Two more heartbeats: the session stays alive across pings.
for (const socket of clients) {
  for (let i = 0; i < 2; i++) await new Promise((ok) => socket.once("heartbeat", ok));
  if (!socket.connected) fail("disconnected after pings");
}
// Two subscribes at once, both with acks: both are answered.
const both = await Promise.all([1, 2].map(() => clients[0].timeout(WAIT).emitWithAck("subscribe", { room: "lobby" })));
if (!both.every((a) => a.ok && a.room === "lobby")) fail(`double subscribe: ${JSON.stringify(both)}`);
if (counts.some((n) => n !== 1)) fail(`messages per client: ${counts}`);

// A forbidden request answers through the ack too: an unknown event.
const refused = await clients[0].timeout(WAIT).emitWithAck("dance", {});
if (refused.ok !== false || refused.error.code !== "bad_request") fail(`refusal: ${JSON.stringify(refused)}`);

for (const socket of clients) socket.disconnect();
console.log("ok");
