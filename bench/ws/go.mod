module github.com/wiredojo/wiredojo/bench/ws

go 1.26.0

replace github.com/wiredojo/wiredojo => ../..

require (
	github.com/coder/websocket v1.8.15
	github.com/gobwas/ws v1.4.0
	github.com/gorilla/websocket v1.5.3
	github.com/wiredojo/wiredojo v0.0.0
)

require (
	github.com/gobwas/httphead v0.1.0 // indirect
	github.com/gobwas/pool v0.2.1 // indirect
	golang.org/x/sys v0.49.0 // indirect
)
