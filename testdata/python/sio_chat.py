"""python-socketio (Debian's python3-socketio) against `wiredojo chat
serve`'s Socket.IO transport (tcpchat/sio tests): the built-ins of /chat
(echo with binary, join) and a room shared with a framed-TCP client of the
test. Talks with the test by lines like sio-chat.js: prints "STEP <name>",
waits for a line on stdin where the test acts; ends with OK or FAIL.

    /usr/bin/python3 -I sio_chat.py URL polling|websocket
"""
import queue
import sys

import socketio


def main(url, transport):
    sio = socketio.Client(reconnection=False)
    heard = queue.Queue()
    sio.on("message", lambda m: heard.put(m), namespace="/chat")
    sio.connect(url, transports=[transport], namespaces=["/chat"],
                auth={"token": "tok", "name": "py"}, wait_timeout=5)
    assert sio.transport() == transport, sio.transport()
    got = sio.call("echo", (1, "two", {"three": [True]}), namespace="/chat", timeout=5)
    assert got == (1, "two", {"three": [True]}), got
    got = sio.call("echo", b"\x01\x02\x03", namespace="/chat", timeout=5)
    assert got == b"\x01\x02\x03", got
    got = sio.call("join", "lobby", namespace="/chat", timeout=5)
    assert got["room"] == "lobby", got
    print("STEP joined", flush=True)
    assert sys.stdin.readline().strip() == "said"
    m = heard.get(timeout=5)
    assert (m["from"], m["text"]) == ("tcp", "hello from tcp"), m
    got = sio.call("message", "hello from python", namespace="/chat", timeout=5)
    assert got["delivered"] == 1, got
    print("STEP said", flush=True)
    assert sys.stdin.readline().strip() == "heard"
    sio.disconnect()
    print("OK", flush=True)


if __name__ == "__main__":
    try:
        main(sys.argv[1], sys.argv[2])
    except BaseException as e:  # noqa: BLE001 - report everything
        print("FAIL", repr(e), flush=True)
        sys.exit(1)
    sys.exit(0)
