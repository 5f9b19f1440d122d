// Package labs owns wiredojo's terminal labs: each lab's text, its tiered
// hints, the set-up that `lab run` performs (servers, links, captures) and the
// check that `lab check` makes from real evidence (captured packets, server
// state, files in the lab's folder). It also keeps the learner's progress in
// the user's state directory.
//
// It does not implement any protocol: set-ups and checks use the library
// packages (tcpchat, framing/ws, udpcast, capture) like any other program.
//
// Example:
//
//	book := labs.Catalog()
//	lab, _ := book.Lab(1)
//	res := lab.Check(ctx, labs.NewEnv(lab, os.Stdout))
//	fmt.Println(res.Passed)
package labs
