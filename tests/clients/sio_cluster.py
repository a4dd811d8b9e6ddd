"""python-socketio's AsyncClient on one node (or the load balancer) while the
events it waits for are written through other nodes. Driven by
tests/cluster_lb.rs; exits non-zero with a reason when something is off.

usage: sio_cluster.py SOCKET_URL TRANSPORTS ROOM COUNT WRITE_URL...
  TRANSPORTS  "default", or a comma list such as "websocket" or "polling"
  Subscribes to ROOM (through the ack), publishes COUNT `note` events
  {"n": i} to ROOM, one after another, through WRITE_URL... in turn, waits
  for all of them and prints what arrived as JSON: [[seq, n], ...].
"""

import asyncio
import json
import sys
import urllib.request

import socketio

WAIT = 10


def publish(url, room, n):
    body = json.dumps({"event_type": "note", "payload": {"n": n}}).encode()
    req = urllib.request.Request(f"{url}/api/rooms/{room}/events", method="POST",
                                 data=body, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=WAIT) as resp:
        if resp.status != 201:
            fail(f"publish answered {resp.status}")


def fail(why):
    print(why, file=sys.stderr)
    sys.exit(1)


async def main():
    url, transports, room, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    writers = sys.argv[5:]
    transports = None if transports == "default" else transports.split(",")
    client = socketio.AsyncClient(reconnection=False)
    inbox = asyncio.Queue()
    client.on("note", lambda data: inbox.put_nowait(data))
    await client.connect(url, socketio_path="/socket.io/", transports=transports,
                         wait_timeout=WAIT)
    want = transports[-1] if transports else "websocket"
    if client.transport() != want:
        fail(f"transport {client.transport()}, expected {want}")
    ack = await client.call("subscribe", {"room": room}, timeout=WAIT)
    if not ack.get("ok") or ack.get("room") != room:
        fail(f"subscribe ack: {ack}")
    loop = asyncio.get_running_loop()
    for n in range(count):
        await loop.run_in_executor(None, publish, writers[n % len(writers)], room, n)
    got = []
    while len(got) < count:
        try:
            data = await asyncio.wait_for(inbox.get(), WAIT)
        except asyncio.TimeoutError:
            fail(f"{len(got)} of {count} events arrived: {got}")
        got.append([data["seq"], data["n"]])
    try:
        extra = await asyncio.wait_for(inbox.get(), 0.5)
        fail(f"an event beyond the {count} written: {extra}")
    except asyncio.TimeoutError:
        pass
    await client.disconnect()
    print(json.dumps({"subscribed_seq": ack["seq"], "got": got}))


asyncio.run(main())
