package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wiredojo/wiredojo/internal/testkit"
)

// capture read of a file of captureProgressMin bytes or more shows its
// progress on stderr when stderr is a terminal (here a pseudo-terminal)
// and stdout is not, and never when stderr is a pipe.
func TestCaptureReadProgressOnATerminal(t *testing.T) {
	file := bigPcap(t, captureProgressMin+1<<20)
	read := func(stderr *os.File) (string, string) {
		t.Helper()
		enc, _ := json.Marshal([]string{"capture", "read", file, "--stats"})
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childArgsEnv+"="+string(enc), "TERM=xterm")
		out := &testkit.Buffer{}
		cmd.Stdout = out
		var errs *testkit.Buffer
		if stderr != nil {
			cmd.Stderr = stderr
		} else {
			errs = &testkit.Buffer{}
			cmd.Stderr = errs
		}
		done := make(chan error, 1)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("capture read: %v\n%s", err, out)
			}
		case <-time.After(2 * time.Minute):
			cmd.Process.Kill()
			t.Fatalf("capture read of %s did not end within 2 minutes", file)
		}
		if errs != nil {
			return out.String(), errs.String()
		}
		return out.String(), ""
	}

	master, slave := openPTY(t)
	var tty testkit.Buffer
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		// Reading the master ends with EIO once no one holds the slave.
		_, _ = bufio.NewReader(master).WriteTo(&tty)
	}()
	out, _ := read(slave)
	slave.Close()
	testkit.Recv(t, 30*time.Second, "the end of the terminal's output", copied)
	master.Close()
	if !strings.Contains(out, "packets") {
		t.Fatalf("capture read --stats printed no statistics: %q", out)
	}
	if s := tty.String(); !strings.Contains(s, "reading") || !strings.Contains(s, "100%") {
		t.Errorf("stderr a terminal, stdout not: no progress on the terminal: %q", s)
	}
	if _, errs := read(nil); strings.Contains(errs, "reading") || strings.Contains(errs, "%") {
		t.Errorf("stderr a pipe: progress written to it: %q", errs)
	}
}

// openPTY opens a pseudo-terminal pair: the master to read what the
// program writes, the slave to give the program as its terminal.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		t.Fatalf("unlock the pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		m.Close()
		t.Fatalf("number of the pseudo-terminal: %v", err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		t.Fatalf("open the pseudo-terminal's slave: %v", err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

// bigPcap writes a pcap file of at least size bytes of one UDP datagram
// over Ethernet, again and again.
func bigPcap(t *testing.T, size int) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "big.pcap")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 65535)
	binary.LittleEndian.PutUint32(hdr[20:], 1) // Ethernet
	w.Write(hdr)
	const payload = 1400
	frame := make([]byte, 14+20+8+payload)
	frame[12], frame[13] = 0x08, 0x00
	ip := frame[14:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+8+payload))
	ip[8], ip[9] = 64, 17
	copy(ip[12:], []byte{127, 0, 0, 1, 127, 0, 0, 1})
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	udp := ip[20:]
	binary.BigEndian.PutUint16(udp[0:], 40000)
	binary.BigEndian.PutUint16(udp[2:], 9999)
	binary.BigEndian.PutUint16(udp[4:], 8+payload)
	rec := make([]byte, 16)
	binary.LittleEndian.PutUint32(rec[8:], uint32(len(frame)))
	binary.LittleEndian.PutUint32(rec[12:], uint32(len(frame)))
	for n, i := 24, 0; n < size; n, i = n+len(rec)+len(frame), i+1 {
		binary.LittleEndian.PutUint32(rec[0:], uint32(1_700_000_000+i/1000))
		binary.LittleEndian.PutUint32(rec[4:], uint32(i%1000*1000))
		w.Write(rec)
		w.Write(frame)
	}
	if err := errors.Join(w.Flush(), f.Close()); err != nil {
		t.Fatal(err)
	}
	return name
}
