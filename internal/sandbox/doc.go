// Package sandbox owns wiredojo's rootless sandbox: a private user, network
// and mount namespace (and, for a persistent sandbox, a PID namespace) in
// which an unprivileged user is root over a network of its own. Inside, lo
// is up, /run is a private tmpfs, and the user may create TUN devices and
// network namespaces (`ip netns add`), open AF_PACKET sockets and set
// sysctls of those namespaces: what `capture live`, `link up` and `compare`
// need, without sudo and without changing anything on the machine.
//
// Two kinds:
//
//   - A one-shot sandbox runs one program (RunSelf: this program again,
//     with the arguments given) and is gone when it exits. It also ends
//     when the process that started it dies, SIGKILL included (the kernel's
//     parent-death signal). compare uses it with its own arguments, the
//     demo for the whole tour (not root) or for its comparison.
//   - A persistent sandbox is held by a holder process (PID 1 of its own PID
//     namespace) whose pid and network namespace are recorded in a state
//     directory, by default $XDG_STATE_HOME/wiredojo/sandbox. Ensure starts
//     it (or finds the one running); Sandbox.Command runs a program inside
//     it by joining its namespaces with nsenter(1), so servers started there
//     and a student's later commands share one network; Stop ends the holder,
//     and with it every process inside (the kernel kills a PID namespace's
//     processes when its first process dies).
//
// A program in the sandbox sees only the sandbox's network: servers on the
// host's loopback are not reachable from it, nor the other way round.
//
// The package needs unprivileged user namespaces (Check says what is
// missing where they are off), the iproute2 `ip` command inside for links,
// and nsenter (util-linux) to join a persistent sandbox. Init must run at
// the start of every program that uses the package: it prepares the
// sandbox in the re-executed child and, for a holder, never returns.
//
// For labs: `lab run N` starts the server of a lab that captures live as
// `wiredojo sandbox -- wiredojo chat serve ...` (the sandbox command calls
// Ensure and runs it with Sandbox.Supervised, so that Ctrl-C ends the
// program, and the command with the program's status); the lab text then
// gives the student's commands as `wiredojo sandbox -- wiredojo ...`, and,
// not as root, `wiredojo capture live` joins the same sandbox by itself. Stop
// (`wiredojo sandbox stop`) ends the servers with it. `wiredojo compare`
// needs nothing of this: it makes a one-shot sandbox of its own, so a lab
// text gives it without sudo.
//
// Example (what `lab run` can do):
//
//	sb, started, err := sandbox.Ensure(sandbox.DefaultDir())
//	...
//	srv := sb.Command(exe, "chat", "serve", "--addr", "127.0.0.1:7070")
//	err = srv.Start() // runs inside; `wiredojo sandbox -- CMD` joins it later
package sandbox
