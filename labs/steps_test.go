package labs

import (
	"reflect"
	"testing"
)

func TestSteps(t *testing.T) {
	text := "intro\n\n" +
		"   ```sh\n   # terminal 1: leave it running; go on when it prints \"ready\"\n   wiredojo lab run 1\n   ```\n" +
		"```text\nnot run\n```\n" +
		"```sh\necho '<ANSWER>' > LABDIR/a.txt <X> <ANSWER>\n```\n" +
		"```sh\n# terminal 2: once it has printed \"news\", press Ctrl-C\n```\n" +
		"```sh\n# terminals 1, 3 and 4: press Ctrl-C in each\n```\n"
	got := Steps(text)
	want := []Step{
		{Terminal: 1, Ready: "ready", Code: "# terminal 1: leave it running; go on when it prints \"ready\"\nwiredojo lab run 1\n"},
		{Code: "echo '<ANSWER>' > LABDIR/a.txt <X> <ANSWER>\n"},
		{Terminal: 2, Ready: "news", Interrupt: true, Code: "# terminal 2: once it has printed \"news\", press Ctrl-C\n"},
		{Terminal: 1, Interrupt: true, Code: "# terminals 1, 3 and 4: press Ctrl-C in each\n"},
		{Terminal: 3, Interrupt: true, Code: "# terminals 1, 3 and 4: press Ctrl-C in each\n"},
		{Terminal: 4, Interrupt: true, Code: "# terminals 1, 3 and 4: press Ctrl-C in each\n"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Steps =\n%+v\nwant\n%+v", got, want)
	}
	if p := got[1].Placeholders(); !reflect.DeepEqual(p, []string{"<ANSWER>", "<X>"}) {
		t.Errorf("Placeholders = %q", p)
	}
	if got[0].Privileged() || !(Step{Code: "ls\n  sudo wiredojo capture live\n"}).Privileged() {
		t.Error("Privileged is wrong")
	}
	bad := BadFences("```\nbare\n```\n```sh\n# terminal 2: keep it running\n```\n")
	if len(bad) != 2 {
		t.Errorf("BadFences = %q, want the bare fence and the terminal line", bad)
	}
}
