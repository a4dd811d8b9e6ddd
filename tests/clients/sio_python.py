"""A seed-004 client, unchanged in spirit: python-socketio's AsyncClient
against herald. Driven by tests/socketio.rs; exits non-zero with a reason
when something is not as the seed expects.

usage: sio_python.py URL TRANSPORTS CLIENTS MODE
  TRANSPORTS  "default", or a comma list such as "websocket" or "polling"
  MODE        "messages"  – subscribe {project_id}, a POST /sessions/{id}/messages
                            reaches every client once with the same data, and a
                            heartbeat counts at least CLIENTS connections
              "testrun"   – a test runner's test_started / test_result /
                            test_completed published to the project room arrive
                            in order
"""

import asyncio
import json
import sys
import urllib.request

import socketio

WAIT = 10


def http(url, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + path, method=method, data=data)
    with urllib.request.urlopen(req, timeout=WAIT) as resp:
        return json.loads(resp.read())


def fail(why):
    print(why, file=sys.stderr)
    sys.exit(1)


async def connect(url, transports):
    client = socketio.AsyncClient(reconnection=False)
    inbox = asyncio.Queue()
    for name in ("message_created", "heartbeat", "subscribed", "test_started",
                 "test_result", "test_completed", "error"):
        client.on(name, lambda data, name=name: inbox.put_nowait((name, data)))
    await client.connect(url, socketio_path="/socket.io/", transports=transports,
                         wait_timeout=WAIT)
    return client, inbox


async def next_of(inbox, wanted):
    """The next event named `wanted`, and how many others came before it."""
    skipped = []
    while True:
        name, data = await asyncio.wait_for(inbox.get(), WAIT)
        if name == wanted:
            return data, skipped
        skipped.append(name)


async def messages(url, clients, project, session):
    for client, inbox in clients:
        # Half answer through an ack, half through the `subscribed` event.
        if clients.index((client, inbox)) % 2 == 0:
            ack = await client.call("subscribe", {"project_id": project}, timeout=WAIT)
            if not ack.get("ok") or ack.get("room") != f"project:{project}":
                fail(f"subscribe ack: {ack}")
        else:
            await client.emit("subscribe", {"project_id": project})
            sub, _ = await next_of(inbox, "subscribed")
            if sub.get("room") != f"project:{project}":
                fail(f"subscribed event: {sub}")
    http(url, "POST", f"/sessions/{session}/messages", {"prompt": "Add a new feature"})
    seen = []
    for _, inbox in clients:
        data, _ = await next_of(inbox, "message_created")
        seen.append(data)
    if any(s != seen[0] for s in seen):
        fail(f"clients saw different data: {seen}")
    if seen[0].get("content") != "Add a new feature" or seen[0].get("session_id") != session:
        fail(f"unexpected message: {seen[0]}")
    for _, inbox in clients:
        beat, before = await next_of(inbox, "heartbeat")
        if beat["connections"] < len(clients):
            fail(f"heartbeat counts {beat['connections']} < {len(clients)}")
        if beat["room_connections"].get(f"project:{project}", 0) < len(clients):
            fail(f"heartbeat room count: {beat}")
        if "message_created" in before:
            fail("a message reached a client twice")


async def testrun(url, clients, project):
    client, inbox = clients[0]
    await client.call("subscribe", {"room": f"project:{project}"}, timeout=WAIT)
    steps = [("test_started", {"run_id": "r1", "total": 2}),
             ("test_result", {"run_id": "r1", "name": "a", "passed": True}),
             ("test_result", {"run_id": "r1", "name": "b", "passed": False}),
             ("test_completed", {"run_id": "r1", "passed": 1, "failed": 1})]
    for event_type, payload in steps:
        http(url, "POST", f"/api/rooms/project:{project}/events",
             {"event_type": event_type, "payload": payload})
    got = []
    while len(got) < len(steps):
        name, data = await asyncio.wait_for(inbox.get(), WAIT)
        if name.startswith("test_"):
            got.append((name, data.get("name"), data.get("run_id")))
    want = [(t, p.get("name"), "r1") for t, p in steps]
    if got != want:
        fail(f"test run arrived as {got}")


async def main():
    url, transports, count, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    transports = None if transports == "default" else transports.split(",")
    project = http(url, "POST", "/projects", {"name": "WS Test"})["id"]
    session = http(url, "POST", f"/projects/{project}/sessions")["session_id"]
    clients = [await connect(url, transports) for _ in range(count)]
    want = transports[-1] if transports else "websocket"
    for client, _ in clients:
        if client.transport() != want:
            fail(f"transport {client.transport()}, expected {want}")
    if mode == "messages":
        await messages(url, clients, project, session)
    else:
        await testrun(url, clients, project)
    for client, _ in clients:
        await client.disconnect()
    print("ok")


asyncio.run(main())
