package main

// example is one line of a command's EXAMPLES section: a command line a
// student can paste, and what it shows.
type example struct{ cmd, what string }

// commandExamples holds the EXAMPLES of every command, by its path under
// wiredojo ("" is wiredojo itself). TestEveryCommandHasExamples walks the
// command tree: a new command needs its entry here, and each example must
// name its own command and only flags that command defines.
var commandExamples = map[string][]example{
	"": {
		{"wiredojo demo", "a guided tour: a chat server and two clients on loopback"},
		{"wiredojo chat serve", "run the chat server (browser page at http://127.0.0.1:7070/)"},
		{"wiredojo lab list", "the labs, with your progress"},
		{"wiredojo help chat serve", "the help of one command"},
	},
	"capture": {
		{"wiredojo capture read chat.pcapng", "decode a saved capture"},
		{"wiredojo capture live --iface lo --filter 'tcp port 7070'", "capture the chat on loopback"},
	},
	"capture read": {
		{"wiredojo capture read chat.pcapng", "one line per packet"},
		{"wiredojo capture read chat.pcapng -v --model tcpip", "every layer on the TCP/IP model"},
		{"wiredojo capture read chat.pcapng --json", "the capture JSON (docs/ARCHITECTURE.md)"},
		{"wiredojo capture read chat.pcapng --follow 0", "TCP stream 0 as its messages"},
		{"wiredojo capture read chat.pcapng --filter 'tcp port 7070' --stats", "conversations and protocols"},
	},
	"capture live": {
		{"wiredojo capture live --iface lo --filter 'tcp port 7070' -w chat.pcapng", "watch the chat and save it"},
		{"wiredojo capture live -i lo --count 20 -v", "20 packets, every layer"},
	},
	"chat": {
		{"wiredojo chat serve", "run a server on 127.0.0.1:7070"},
		{"wiredojo chat client --room lobby --name ann", "chat in the lobby"},
		{"wiredojo chat emit --room lobby --event message '\"hi\"'", "send one event"},
		{"wiredojo chat listen --room lobby", "print what the lobby says"},
	},
	"chat serve": {
		{"wiredojo chat serve", "framed TCP, WebSocket and the browser page on 127.0.0.1:7070"},
		{"wiredojo chat serve --addr :7070 --verbose", "on every interface, logging connects and closes"},
		{"wiredojo chat serve --store memory --token s3cret", "no queue file; clients need the token"},
	},
	"chat client": {
		{"wiredojo chat client --room lobby --name ann", "type lines to talk in the lobby"},
		{"wiredojo chat client --ws --room lobby", "the same over WebSocket"},
	},
	"chat emit": {
		{"wiredojo chat emit --room lobby --event message '\"hi all\"'", "one message to the lobby"},
		{"wiredojo chat emit --event echo --ack '\"ping\"' 42", "an event with two arguments, waiting for its ack"},
		{"wiredojo chat emit --durable --to bob --event news '\"kept for bob\"'", "queued until bob acknowledges it"},
	},
	"chat listen": {
		{"wiredojo chat listen --room lobby", "every event said in the lobby"},
		{"wiredojo chat listen --client-id bob --json", "bob's durable queue, one JSON object per event"},
	},
	"chat queue": {
		{"wiredojo chat queue ls", "the queues in the default store"},
		{"wiredojo chat queue peek bob", "bob's pending messages"},
	},
	"chat queue ls": {
		{"wiredojo chat queue ls", "client, depth, oldest message, last seen"},
		{"wiredojo chat queue ls --redis redis://127.0.0.1:6379/0 --json", "queues kept in Redis, as JSON"},
	},
	"chat queue peek": {
		{"wiredojo chat queue peek bob --limit 5", "bob's first five pending messages"},
	},
	"chat queue purge": {
		{"wiredojo chat queue purge bob", "drop bob's pending messages"},
	},
	"compare": {
		{"wiredojo compare --loss 5% --delay 10ms", "TCP and UDP through the same loss and delay"},
		{"wiredojo compare --loss 5% --delay 10ms --jitter 2ms --report compare.html", "with an HTML report"},
		{"wiredojo compare --count 200 --json", "the numbers as JSON"},
	},
	"completion": {
		{"source <(wiredojo completion bash)", "complete wiredojo's commands and flags in this shell"},
		{"wiredojo completion zsh", "the zsh script"},
	},
	"demo": {
		{"wiredojo demo", "the tour at reading pace"},
		{"wiredojo demo --pace 0s", "the tour at once"},
	},
	"lab": {
		{"wiredojo lab list", "the labs and your progress"},
		{"wiredojo lab show 1", "lab 1's text"},
		{"wiredojo lab check 1", "check your work on lab 1"},
	},
	"lab list": {
		{"wiredojo lab list", "each lab with its status"},
	},
	"lab show": {
		{"wiredojo lab show 1", "what lab 1 asks"},
	},
	"lab run": {
		{"wiredojo lab run 1", "start what lab 1 needs; Ctrl-C stops it"},
	},
	"lab check": {
		{"wiredojo lab check 1", "check lab 1 against its evidence"},
	},
	"lab hint": {
		{"wiredojo lab hint 1", "the next hint of lab 1"},
	},
	"lab reset": {
		{"wiredojo lab reset 4", "start lab 4 over (asks first)"},
		{"wiredojo lab reset --yes 4", "the same without asking"},
	},
	"link": {
		{"wiredojo link up --loss 5% --delay 20ms", "an impaired link between two namespaces"},
		{"wiredojo link status", "its settings and counters"},
		{"wiredojo link down", "remove it"},
	},
	"link up": {
		{"wiredojo link up --loss 5% --delay 20ms", "lose 5% and delay by 20 ms both ways"},
		{"wiredojo link up --name lab --direction a-to-b --delay 50ms", "a second link, delayed one way"},
	},
	"sandbox": {
		{"wiredojo sandbox -- wiredojo chat serve --addr 127.0.0.1:7070", "a server inside the sandbox (started if needed)"},
		{"wiredojo sandbox -- ip -br addr", "what the sandbox's network looks like"},
		{"wiredojo sandbox", "a shell inside the sandbox"},
	},
	"sandbox start": {
		{"wiredojo sandbox start", "start the sandbox and print its pid"},
	},
	"sandbox stop": {
		{"wiredojo sandbox stop", "end the sandbox and everything running in it"},
	},
	"sandbox status": {
		{"wiredojo sandbox status", "say whether the sandbox runs"},
	},
	"link down": {
		{"wiredojo link down", "stop the relay, remove the namespaces"},
	},
	"link status": {
		{"wiredojo link status --json", "settings and counters as JSON"},
	},
	"udp": {
		{"wiredojo udp recv --addr 127.0.0.1:9999", "receive and measure"},
		{"wiredojo udp send --to 127.0.0.1:9999 --count 1000 --loss 5%", "send through 5% loss"},
	},
	"udp send": {
		{"wiredojo udp send --to 127.0.0.1:9999 --count 10000 --rate 5000 --loss 5% --seed 1", "paced, lossy, repeatable"},
		{"wiredojo udp send --broadcast --port 9999 --count 10", "ten datagrams to the subnet"},
	},
	"udp recv": {
		{"wiredojo udp recv --addr 127.0.0.1:9999", "until Ctrl-C, then the summary"},
		{"wiredojo udp recv --addr :9999 --until-end --json", "until the senders finish, as JSON"},
	},
	"tcp": {
		{"wiredojo tcp recv --addr 127.0.0.1:7000 --read-delay 100ms", "terminal 1: print every read"},
		{"wiredojo tcp send --to 127.0.0.1:7000 --data 'one\\n' --data 'two\\n' --data 'three\\n'", "terminal 2: three writes"},
	},
	"tcp send": {
		{"wiredojo tcp send --to 127.0.0.1:7000 --data one --data two --data three", "three writes, back to back"},
		{"wiredojo tcp send --to 127.0.0.1:7000 --gap 50ms --data one --data two", "50 ms apart, so they are read apart"},
	},
	"tcp recv": {
		{"wiredojo tcp recv --addr 127.0.0.1:7000 --read-size 4", "at most 4 bytes per read"},
		{"wiredojo tcp recv --read-delay 100ms --conns 1", "slow reads pile writes up; exit after one connection"},
	},
	"version": {
		{"wiredojo version", "version, Go version and VCS revision"},
	},
	"ws": {
		{"wiredojo ws dial ws://127.0.0.1:7070/ws", "every frame the chat server sends"},
		{"wiredojo ws echo --addr 127.0.0.1:9001", "an echo server to dial"},
	},
	"ws dial": {
		{"wiredojo ws dial ws://127.0.0.1:9001", "type lines, see each frame both ways"},
		{"wiredojo ws dial --json --compress ws://127.0.0.1:9001", "frames as JSON, with permessage-deflate"},
	},
	"ws echo": {
		{"wiredojo ws echo", "echo on 127.0.0.1:9001"},
		{"wiredojo ws echo --addr 127.0.0.1:0 --max-message 65536", "any free port, small messages only"},
	},
	"ws autobahn": {
		{"wiredojo ws autobahn ws://127.0.0.1:9001", "run every case of a fuzzingserver"},
	},
}
