package commands

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// On a terminal, what is typed for a secret param is not echoed (and echo is
// back on afterwards). The test is a real pseudo-terminal: what the
// terminal echoes comes back on its master side.
func TestSecretPromptDoesNotEcho(t *testing.T) {
	e := newEnv(t)
	e.mustRun("init")
	e.secretScript()
	master, tty := openPTY(t)
	var out, errb bytes.Buffer
	a := newApp(BuildInfo{Version: "test"}, tty, &out, &errb)
	yes := true
	a.io.tty = &yes
	done := make(chan int, 1)
	go func() { done <- a.main(context.Background(), []string{"cscript", "render", "tok", "--deck", "local"}) }()

	echoOff := false
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !echoOff; time.Sleep(5 * time.Millisecond) {
		echoOff = termios(t, tty).Lflag&unix.ECHO == 0
	}
	if _, err := master.Write([]byte(testToken + "\n")); err != nil {
		t.Fatal(err)
	}
	code := <-done
	if !echoOff {
		t.Fatal("echo stayed on while the secret param was typed")
	}
	echoed := readAvailable(master)
	if code != 0 || strings.Contains(echoed, testToken) || strings.Contains(errb.String(), testToken) || !strings.Contains(out.String(), "Bearer ***") {
		t.Errorf("exit %d, echoed %q, stderr %q, stdout %q", code, echoed, errb.String(), out.String())
	}
	if termios(t, tty).Lflag&unix.ECHO == 0 {
		t.Error("echo is still off")
	}
}

// openPTY opens a pseudo-terminal: its master side and the terminal.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open a pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	var n uint32
	var ierr error
	rc, _ := m.SyscallConn()
	if err := rc.Control(func(fd uintptr) {
		if ierr = unix.IoctlSetPointerInt(int(fd), unix.TIOCSPTLCK, 0); ierr == nil {
			n, ierr = unix.IoctlGetUint32(int(fd), unix.TIOCGPTN)
		}
	}); err != nil || ierr != nil {
		t.Fatalf("unlock the pseudo-terminal: %v %v", err, ierr)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open the pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

func termios(t *testing.T, f *os.File) *unix.Termios {
	t.Helper()
	var tio *unix.Termios
	var ierr error
	rc, _ := f.SyscallConn()
	if err := rc.Control(func(fd uintptr) { tio, ierr = unix.IoctlGetTermios(int(fd), unix.TCGETS) }); err != nil || ierr != nil {
		t.Fatalf("termios: %v %v", err, ierr)
	}
	return tio
}

// readAvailable reads what the master side has, waiting a little.
func readAvailable(m *os.File) string {
	var b bytes.Buffer
	buf := make([]byte, 4096)
	for {
		m.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		n, err := m.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}
