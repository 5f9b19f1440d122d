// Package labs owns wiredojo's terminal labs: each lab's text, its tiered
// hints, the set-up that `lab run` performs (servers, links, captures) and the
// check that `lab check` makes from real evidence (captured packets, server
// state, files in the lab's folder). It also keeps the learner's progress in
// the user's state directory.
//
// A lab's text is the single source of its steps: its ```sh blocks are run
// as written, with LABDIR standing for the lab's folder, <PLACEHOLDERS>
// for what the learner found, and a first line "# terminal N: ..." for a
// program left running or a Ctrl-C (see Steps). The tests follow every
// text that way as an unprivileged user and then run the check; checks
// compare the learner's answers (answers.txt) with the evidence.
//
// It does not implement any protocol: set-ups run this program's own
// commands (chat serve) as a learner would, and checks read the evidence
// with the library packages (capture, framing, framing/ws,
// socketio/engineio) like any other program.
//
// Example:
//
//	book := labs.Catalog()
//	lab, _ := book.Lab(1)
//	env, _ := labs.NewEnv(lab, os.Stdout)
//	res := lab.Check(ctx, env)
//	fmt.Println(res.Passed)
package labs
