"""A python-socketio (Debian's python3-socketio) client session against a
Socket.IO server under test: connect with auth to two namespaces, calls
with acks, binary, a question from the server with an ack, a refused
middleware. Prints OK, or the failure and exits 1.

    /usr/bin/python3 sio_client.py URL polling|websocket
"""
import sys
import threading

import socketio


def main(url, transport):
    sio = socketio.Client(reconnection=False)
    answered = threading.Event()
    answer = []

    @sio.on("question")
    def question(x):
        return x * 2

    @sio.on("answer")
    def on_answer(x):
        answer.append(x)
        answered.set()

    sio.connect(url, transports=[transport], namespaces=["/", "/custom"],
                auth={"token": "good"}, wait_timeout=5)
    assert sio.transport() == transport, sio.transport()
    got = sio.call("echo", (1, "two", {"three": [True]}), timeout=5)
    assert got == (1, "two", {"three": [True]}), got
    got = sio.call("echo", b"\x01\x02\x03", timeout=5)
    assert got == b"\x01\x02\x03", got
    got = sio.call("echo", "in custom", namespace="/custom", timeout=5)
    assert got == "in custom", got
    sio.emit("ask", 21)
    assert answered.wait(5), "no answer"
    assert answer == [42], answer
    sio.disconnect()

    refused = socketio.Client(reconnection=False)
    errors = []

    @refused.event
    def connect_error(data):
        errors.append(data)

    try:
        refused.connect(url, transports=[transport], auth={"token": "bad"}, wait_timeout=1)
    except socketio.exceptions.ConnectionError:
        pass
    else:
        raise AssertionError("a refused connection succeeded")
    assert errors == [{"message": "refused by the middleware"}], errors
    print("OK")


if __name__ == "__main__":
    try:
        main(sys.argv[1], sys.argv[2])
    except BaseException as e:  # noqa: BLE001 - report everything
        print("FAIL", repr(e))
        sys.exit(1)
    sys.exit(0)
