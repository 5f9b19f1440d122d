package app

import (
	"fmt"
	"strings"
	"testing"

	"github.com/wiredojo/wiredojo/capture"
	"github.com/wiredojo/wiredojo/framing/ws"
)

func sioDescribe(l *capture.Layer) string {
	s := fmt.Sprintf("%v %s ns=%s name=%s data=%s ack=%v/%d bin=%v len=%d att=%d",
		l.Proto, l.Kind, l.Namespace, l.Name, l.Payload, l.Response, l.Number, l.Binary, l.PayloadLen, l.Attachments)
	if l.Joined {
		s += " joined"
	}
	return s
}

func TestSocketIOPollingAndWebSocket(t *testing.T) {
	post := "40/chat,{\"token\":\"x\"}\x1e42/chat,3[\"message\",{\"text\":\"hi\"}]\x1e451-[\"up\",{\"_placeholder\":true,\"num\":0}]\x1ebAQID"
	client := []byte("GET /socket.io/?EIO=4&transport=polling&t=a HTTP/1.1\r\nHost: x\r\n\r\n" +
		"POST /socket.io/?EIO=4&transport=polling&sid=S HTTP/1.1\r\nHost: x\r\nContent-Length: " +
		fmt.Sprint(len(post)) + "\r\n\r\n" + post +
		"GET /socket.io/?EIO=4&transport=websocket&sid=S HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	h := ws.Header{Fin: true, OpCode: ws.OpText, Masked: true, Mask: [4]byte{1, 2, 3, 4}}
	client = ws.AppendFrame(client, h, []byte("2probe"))
	client = ws.AppendFrame(client, h, []byte("5"))
	client = ws.AppendFrame(client, h, []byte("3"))
	client = ws.AppendFrame(client, ws.Header{Fin: true, OpCode: ws.OpBinary, Masked: true}, []byte{9, 8})
	open := `0{"sid":"S","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`
	body := open + "\x1e6\x1e43/chat,3[\"ok\"]"
	server := []byte("HTTP/1.1 200 OK\r\nContent-Length: " + fmt.Sprint(len(body)) + "\r\n\r\n" + body +
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" +
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
	server = ws.AppendFrame(server, ws.Header{Fin: true, OpCode: ws.OpText}, []byte("3probe"))
	server = ws.AppendFrame(server, ws.Header{Fin: true, OpCode: ws.OpText}, []byte("2"))
	server = ws.AppendFrame(server, ws.Header{Fin: true, OpCode: ws.OpText}, []byte(`42["message",{"text":"hi"}]`))

	want := []string{
		`engine.io MESSAGE ns= name= data=0/chat,{"token":"x"} ack=false/0 bin=false len=20 att=0`,
		`socket.io CONNECT ns=/chat name= data={"token":"x"} ack=false/0 bin=false len=0 att=0`,
		`engine.io MESSAGE ns= name= data=2/chat,3["message",{"text":"hi"}] ack=false/0 bin=false len=33 att=0`,
		`socket.io EVENT ns=/chat name=message data=["message",{"text":"hi"}] ack=true/3 bin=false len=0 att=0`,
		`engine.io MESSAGE ns= name= data=51-["up",{"_placeholder":true,"num":0}] ack=false/0 bin=false len=39 att=0`,
		`socket.io BINARY_EVENT ns=/ name=up data=["up",{"_placeholder":true,"num":0}] ack=false/0 bin=false len=0 att=1`,
		"engine.io MESSAGE ns= name= data=\x01\x02\x03 ack=false/0 bin=true len=3 att=0",
		`socket.io BINARY_EVENT ns=/ name=up data=["up",{"$binary":"AQID"}] ack=false/0 bin=false len=0 att=1 joined`,
		`engine.io PING ns= name= data=probe ack=false/0 bin=false len=5 att=0`,
		`engine.io UPGRADE ns= name= data= ack=false/0 bin=false len=0 att=0`,
		`engine.io PONG ns= name= data= ack=false/0 bin=false len=0 att=0`,
		"engine.io MESSAGE ns= name= data=\t\b ack=false/0 bin=true len=2 att=0",
		`engine.io OPEN ns= name= data={"sid":"S","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000} ack=false/0 bin=false len=98 att=0`,
		`engine.io NOOP ns= name= data= ack=false/0 bin=false len=0 att=0`,
		`engine.io MESSAGE ns= name= data=3/chat,3["ok"] ack=false/0 bin=false len=14 att=0`,
		`socket.io ACK ns=/chat name= data=["ok"] ack=true/3 bin=false len=0 att=0`,
		`engine.io PONG ns= name= data=probe ack=false/0 bin=false len=5 att=0`,
		`engine.io PING ns= name= data= ack=false/0 bin=false len=0 att=0`,
		`engine.io MESSAGE ns= name= data=2["message",{"text":"hi"}] ack=false/0 bin=false len=26 att=0`,
		`socket.io EVENT ns=/ name=message data=["message",{"text":"hi"}] ack=false/0 bin=false len=0 att=0`,
	}
	for _, size := range []int{1, 7, len(client) + len(server)} {
		got := sioDescribed(t, split(client, size), split(server, size))
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("chunks of %d:\ngot\n%s\nwant\n%s", size, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

// sioDescribed is feed with sioDescribe for the engine.io and socket.io
// layers only.
func sioDescribed(t *testing.T, client, server [][]byte) []string {
	t.Helper()
	return feedWith(t, client, server, func(l *capture.Layer) string {
		if l.Proto != capture.ProtoEngineIO && l.Proto != capture.ProtoSocketIO {
			return ""
		}
		return sioDescribe(l)
	})
}

// A WebSocket connection that is not Engine.IO keeps the wiredojo decoding:
// no engine.io layer for a text message that happens to start with a digit.
func TestNotSocketIO(t *testing.T) {
	client := []byte("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	client = ws.AppendFrame(client, ws.Header{Fin: true, OpCode: ws.OpText, Masked: true}, []byte(`42["message"]`))
	if got := sioDescribed(t, [][]byte{client}, nil); len(got) != 0 {
		t.Fatalf("engine.io layers on a plain WebSocket: %q", got)
	}
}
