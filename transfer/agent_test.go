package transfer

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The agent's tests run the real agent binary (built once from
// cmd/cscript-agent) through the same local "images" as the scripts.

var agentBuild struct {
	once sync.Once
	bin  []byte
	err  error
}

// agentBinary builds cmd/cscript-agent for this machine once per test binary.
func agentBinary(t testing.TB) []byte {
	t.Helper()
	agentBuild.once.Do(func() {
		dir, err := os.MkdirTemp("", "cscript-agent-test-")
		if err != nil {
			agentBuild.err = err
			return
		}
		defer os.RemoveAll(dir)
		out := filepath.Join(dir, "cscript-agent")
		// go test puts the go command that runs it first in PATH.
		cmd := exec.Command("go", "build", "-o", out, "../cmd/cscript-agent")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			agentBuild.err = errors.New(string(msg))
			return
		}
		agentBuild.bin, agentBuild.err = os.ReadFile(out)
	})
	if agentBuild.err != nil {
		t.Fatalf("build the agent: %v", agentBuild.err)
	}
	return agentBuild.bin
}

// agentOpts are options that install the agent (for every upload) into a
// fresh directory of the test.
func agentOpts(t testing.TB, tools *Tools) Options {
	bin := agentBinary(t)
	return Options{
		Tools:         tools,
		Agent:         func(arch string) []byte { return map[string][]byte{runtime.GOARCH: bin}[arch] },
		AgentMinBytes: -1,
		agentDirs:     []string{t.TempDir()},
	}
}

// probed probes ex and fails the test if that fails or finds no arch.
func probed(t testing.TB, ex Executor) *Tools {
	t.Helper()
	tools, err := Probe(context.Background(), ex)
	if err != nil {
		t.Fatal(err)
	}
	if tools.Arch != runtime.GOARCH {
		t.Fatalf("probe: arch %q, want %q (uname -m)", tools.Arch, runtime.GOARCH)
	}
	return tools
}

// countingExec counts execs: all of them, the installs of the agent (on
// their own or with the probe) and the agent's runs.
type countingExec struct {
	inner         Executor
	mu            sync.Mutex
	execs         int
	installs      int
	probeInstalls int
	agentRan      int
}

func (e *countingExec) Exec(ctx context.Context, cmd []string, stdin io.Reader, stdout, stderr io.Writer) error {
	e.mu.Lock()
	e.execs++
	if len(cmd) > 2 && cmd[2] == installAgentScript {
		e.installs++
	}
	if len(cmd) > 2 && cmd[2] == probeInstallScript {
		e.probeInstalls++
	}
	if len(cmd) > 2 && cmd[2] == runAgentScript {
		e.agentRan++
	}
	e.mu.Unlock()
	return e.inner.Exec(ctx, cmd, stdin, stdout, stderr)
}

func TestAgentRoundTrip(t *testing.T) {
	for _, compress := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "s2"}[compress], func(t *testing.T) {
			ex := &countingExec{inner: busyboxImage(t)}
			opts := agentOpts(t, probed(t, ex))
			opts.Compress = compress
			tmp := t.TempDir()
			src := filepath.Join(tmp, "local", "src tree")
			makeTree(t, src)
			remote := filepath.Join(tmp, "container", "work dir", "uploaded")
			ctx := context.Background()

			res, err := Upload(ctx, ex, LocalPath(src), RemotePath(remote), opts)
			if err != nil {
				t.Fatalf("Upload: %v", err)
			}
			if !res.Agent || res.Verified != VerifiedSHA256 || res.Compressed != compress {
				t.Errorf("upload result %+v: want the agent, sha256, compressed=%v", res, compress)
			}
			if diff := cmp.Diff(snapshot(t, remote), snapshot(t, src)); diff != "" {
				t.Errorf("container tree (-got +want):\n%s", diff)
			}

			back := filepath.Join(tmp, "local", "back")
			res2, err := Download(ctx, ex, RemotePath(remote), LocalPath(back), opts)
			if err != nil {
				t.Fatalf("Download: %v", err)
			}
			if !res2.Agent || res2.Verified != VerifiedSHA256 || res2.Compressed != compress || res2.Files != res.Files || res2.Bytes != res.Bytes {
				t.Errorf("download result %+v, upload %+v", res2, res)
			}
			if diff := cmp.Diff(snapshot(t, back), snapshot(t, src)); diff != "" {
				t.Errorf("downloaded tree (-got +want):\n%s", diff)
			}
			if ex.installs != 1 || ex.agentRan != 2 {
				t.Errorf("installs %d, agent runs %d; want one install for both transfers and two runs", ex.installs, ex.agentRan)
			}
		})
	}
}

func TestAgentSingleFileAndMissing(t *testing.T) {
	ex := busyboxImage(t)
	opts := agentOpts(t, probed(t, ex))
	tmp := t.TempDir()
	data := randomBytes(5<<20+3, 9)
	src := filepath.Join(tmp, "dump.sql")
	writeFile(t, src, data, 0o600)
	ctx := context.Background()
	res, err := Upload(ctx, ex, LocalPath(src), RemotePath(filepath.Join(tmp, "c")+"/"), opts)
	if err != nil {
		t.Fatal(err)
	}
	want := Result{Bytes: int64(len(data)), Files: 1, SHA256: sha(data), Verified: VerifiedSHA256, Agent: true}
	if diff := cmp.Diff(*res, want); diff != "" {
		t.Errorf("upload result (-got +want):\n%s", diff)
	}
	res, err = Download(ctx, ex, RemotePath(filepath.Join(tmp, "c", "dump.sql")), LocalPath(filepath.Join(tmp, "out.sql")), opts)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(*res, want); diff != "" {
		t.Errorf("download result (-got +want):\n%s", diff)
	}
	if got, _ := os.ReadFile(filepath.Join(tmp, "out.sql")); !bytes.Equal(got, data) {
		t.Error("downloaded file differs")
	}
	_, err = Download(ctx, ex, RemotePath(filepath.Join(tmp, "c", "nope")), LocalPath(filepath.Join(tmp, "nope")), opts)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("download of a missing file: %v, want fs.ErrNotExist", err)
	}
}

// Every cut of the upload's stdin (the CRI bug) and every flipped byte in
// either direction is an error, never a transfer that passes.
func TestAgentDetectsBrokenStreams(t *testing.T) {
	data := randomBytes(1<<20, 3)
	// setup gives a busybox "container" with the agent installed through a
	// sound stream, the local file, and where it goes in the container.
	setup := func(t *testing.T, compress bool) (Executor, Options, string, string) {
		base := busyboxImage(t)
		opts := agentOpts(t, probed(t, base))
		opts.Compress = compress
		installAgentFor(t, base, opts)
		tmp := t.TempDir()
		src := filepath.Join(tmp, "f.bin")
		writeFile(t, src, data, 0o644)
		return base, opts, src, filepath.Join(tmp, "c", "f.bin")
	}
	for _, compress := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "s2"}[compress]
		// The length of the whole stream, to cut it one byte short.
		total := func(t *testing.T) int64 {
			base, opts, src, dst := setup(t, compress)
			ce := &stdinCount{inner: base}
			if _, err := Upload(context.Background(), ce, LocalPath(src), RemotePath(dst), opts); err != nil {
				t.Fatal(err)
			}
			return ce.n
		}(t)
		for _, n := range []int64{0, 511, 32 << 10, 196608, total - 1024, total - 1} {
			t.Run(name+"/cut", func(t *testing.T) {
				base, opts, src, dst := setup(t, compress)
				_, err := Upload(context.Background(), truncatingExec{inner: base, n: n, discard: true}, LocalPath(src), RemotePath(dst), opts)
				var ve *VerifyError
				if !errors.As(err, &ve) {
					t.Fatalf("stdin cut at %d of %d: err %v, want a *VerifyError", n, total, err)
				}
			})
		}
		for _, at := range []int64{100, 700, 600_000} {
			t.Run(name+"/flip", func(t *testing.T) {
				base, opts, src, dst := setup(t, compress)
				bad := corruptingExec{inner: base, at: at}
				if _, err := Upload(context.Background(), bad, LocalPath(src), RemotePath(dst), opts); err == nil {
					t.Errorf("upload with byte %d flipped: no error", at)
				}
				if _, err := Upload(context.Background(), base, LocalPath(src), RemotePath(dst), opts); err != nil {
					t.Fatal(err)
				}
				out := filepath.Join(filepath.Dir(src), "out.bin")
				if _, err := Download(context.Background(), bad, RemotePath(dst), LocalPath(out), opts); err == nil {
					t.Errorf("download with byte %d flipped: no error", at)
				}
				if _, err := os.Lstat(out); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("a failed download left %s behind (%v)", out, err)
				}
			})
		}
	}
}

// stdinCount counts the bytes of stdin the inner executor read.
type stdinCount struct {
	inner Executor
	n     int64
}

func (e *stdinCount) Exec(ctx context.Context, cmd []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if stdin == nil {
		return e.inner.Exec(ctx, cmd, stdin, stdout, stderr)
	}
	cr := &countReader{r: stdin}
	err := e.inner.Exec(ctx, cmd, cr, stdout, stderr)
	e.n = cr.n
	return err
}

// installAgentFor installs the agent through ex now, so that a test's
// broken executor only breaks the transfer.
func installAgentFor(t testing.TB, ex Executor, opts Options) {
	t.Helper()
	if useAgent(context.Background(), ex, opts.Tools, opts, true) == nil {
		t.Fatalf("the agent did not install: %v", opts.Tools.agent.err)
	}
}

// When the agent cannot be installed or run, transfers fall back to the
// image's tools and still succeed, and the install is not retried.
func TestAgentFallback(t *testing.T) {
	cases := []struct {
		name string
		ex   func(t testing.TB) Executor
		bin  func(t testing.TB) []byte
		dirs func(t testing.TB) []string
	}{
		{"not an executable", func(t testing.TB) Executor { return busyboxImage(t) },
			func(testing.TB) []byte { return []byte("#!/no/such/interpreter\n") }, nil},
		{"install cut short", func(t testing.TB) Executor { return cutInstall{busyboxImage(t)} },
			agentBinary, nil},
		{"no writable directory", func(t testing.TB) Executor { return busyboxImage(t) },
			agentBinary, func(t testing.TB) []string {
				d := filepath.Join(t.TempDir(), "ro")
				if err := os.Mkdir(d, 0o500); err != nil {
					t.Fatal(err)
				}
				return []string{d, filepath.Join(t.TempDir(), "missing")}
			}},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			if tt.dirs != nil && os.Geteuid() == 0 {
				// root writes anywhere: make the directory unusable another way.
				tt.dirs = func(t testing.TB) []string { return []string{filepath.Join(t.TempDir(), "missing")} }
			}
			ex := &countingExec{inner: tt.ex(t)}
			tools := probed(t, ex)
			bin := tt.bin(t)
			opts := Options{Tools: tools, Agent: func(string) []byte { return bin }, AgentMinBytes: -1, agentDirs: []string{t.TempDir()}}
			if tt.dirs != nil {
				opts.agentDirs = tt.dirs(t)
			}
			tmp := t.TempDir()
			data := randomBytes(200_000, 4)
			src := filepath.Join(tmp, "f.bin")
			writeFile(t, src, data, 0o644)
			for i := range 2 {
				res, err := Upload(context.Background(), ex, LocalPath(src), RemotePath(filepath.Join(tmp, "c", "f.bin")), opts)
				if err != nil {
					t.Fatalf("upload %d: %v", i, err)
				}
				if res.Agent || res.Verified != VerifiedSHA256 || res.SHA256 != sha(data) || res.NoAgent == "" {
					t.Errorf("upload %d: %+v, want the scripts' verified transfer and why not the agent", i, res)
				}
			}
			if ex.installs != 1 || ex.agentRan != 0 {
				t.Errorf("installs %d, agent runs %d; want 1 and 0", ex.installs, ex.agentRan)
			}
			if tools.agent.err == nil {
				t.Error("no reason recorded for the failed install")
			}
		})
	}
}

// cutInstall cuts the agent's install after 100 KB, as the CRI would if the
// install script let its stdout go.
type cutInstall struct{ inner Executor }

func (e cutInstall) Exec(ctx context.Context, cmd []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(cmd) > 2 && (cmd[2] == installAgentScript || cmd[2] == probeInstallScript) {
		return truncatingExec{inner: e.inner, n: 100_000, discard: true}.Exec(ctx, cmd, stdin, stdout, stderr)
	}
	return e.inner.Exec(ctx, cmd, stdin, stdout, stderr)
}

// Small uploads do not install the agent; an unknown architecture never does.
func TestAgentOnlyWhenWorthIt(t *testing.T) {
	ex := &countingExec{inner: busyboxImage(t)}
	tools := probed(t, ex)
	opts := agentOpts(t, tools)
	opts.AgentMinBytes = 0 // the default, 4 MiB
	tmp := t.TempDir()
	src := filepath.Join(tmp, "small.txt")
	writeFile(t, src, []byte("small"), 0o644)
	res, err := Upload(context.Background(), ex, LocalPath(src), RemotePath(filepath.Join(tmp, "c", "small.txt")), opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Agent || ex.installs != 0 || res.NoAgent != "" {
		t.Errorf("a 5-byte upload used the agent or says why not (%+v, %d installs)", res, ex.installs)
	}
	unknown := *tools
	unknown.Arch = ""
	unknown.agent = &agentState{}
	opts.Tools = &unknown
	res, err = Download(context.Background(), ex, RemotePath(filepath.Join(tmp, "c", "small.txt")), LocalPath(filepath.Join(tmp, "back.txt")), opts)
	if err != nil {
		t.Fatal(err)
	}
	if ex.installs != 0 {
		t.Errorf("installed the agent into a container of unknown architecture")
	}
	if res.Agent || !strings.Contains(res.NoAgent, "machine is unknown") {
		t.Errorf("download from a container of unknown architecture: %+v, want why not the agent", res)
	}
}

// otherMachine makes the probe's install exec expect another machine than
// the container's, as when cscript runs on a Mac (arm64) against amd64 nodes.
type otherMachine struct{ inner Executor }

func (e otherMachine) Exec(ctx context.Context, cmd []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(cmd) > 5 && cmd[2] == probeInstallScript {
		cmd = append([]string{}, cmd...)
		cmd[5] = "sparc64 mips"
	}
	return e.inner.Exec(ctx, cmd, stdin, stdout, stderr)
}

// A transfer given a zero Tools probes into it, and the same exec installs
// the agent when the container is of the local architecture: an upload then
// takes two execs (probe with install, the agent's recv), and the next
// transfer one. Another architecture costs one install exec more.
func TestAgentInstalledWithTheProbe(t *testing.T) {
	bin := agentBinary(t)
	cases := []struct {
		name string
		ex   func(t testing.TB) Executor
		// execs of the first upload, separate installs
		execs, installs int
	}{
		{"local architecture", func(t testing.TB) Executor { return busyboxImage(t) }, 2, 0},
		{"another architecture", func(t testing.TB) Executor { return otherMachine{busyboxImage(t)} }, 3, 1},
		{"install cut short", func(t testing.TB) Executor { return cutInstall{busyboxImage(t)} }, 2, 0},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			ex := &countingExec{inner: tt.ex(t)}
			tools := &Tools{}
			opts := Options{Tools: tools, Agent: func(arch string) []byte { return map[string][]byte{runtime.GOARCH: bin}[arch] },
				agentDirs: []string{t.TempDir()}}
			tmp := t.TempDir()
			data := randomBytes(5<<20, 6)
			src := filepath.Join(tmp, "f.bin")
			writeFile(t, src, data, 0o644)
			res, err := Upload(context.Background(), ex, LocalPath(src), RemotePath(filepath.Join(tmp, "c", "f.bin")), opts)
			if err != nil {
				t.Fatalf("upload: %v", err)
			}
			cut := tt.name == "install cut short"
			if res.Agent == cut || res.Verified != VerifiedSHA256 || res.SHA256 != sha(data) || (res.NoAgent != "") != cut {
				t.Errorf("upload: %+v, want a verified transfer, agent %v", res, !cut)
			}
			if ex.execs != tt.execs || ex.probeInstalls != 1 || ex.installs != tt.installs {
				t.Errorf("%d execs, %d probe installs, %d installs; want %d, 1, %d", ex.execs, ex.probeInstalls, ex.installs, tt.execs, tt.installs)
			}
			if !tools.Sh || tools.Arch != runtime.GOARCH || (tools.agent.err != nil) != cut {
				t.Errorf("tools after the upload: %+v, agent error %v", tools, tools.agent.err)
			}
			back := filepath.Join(tmp, "back.bin")
			res, err = Download(context.Background(), ex, RemotePath(filepath.Join(tmp, "c", "f.bin")), LocalPath(back), opts)
			if err != nil {
				t.Fatalf("download: %v", err)
			}
			if res.Agent == cut || res.SHA256 != sha(data) || ex.execs != tt.execs+1 {
				t.Errorf("download: %+v after %d execs; want agent %v and one exec more than %d", res, ex.execs, !cut, tt.execs)
			}
		})
	}
}

func TestAgentMainUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"nope"}, {"recv", "d", "n"}, {"send", "d", "n", "gzip"}, {"sum"}} {
		var out, errOut bytes.Buffer
		if rc := AgentMain(args, strings.NewReader(""), &out, &errOut); rc != 2 || !strings.Contains(errOut.String(), "usage:") {
			t.Errorf("AgentMain(%q) = %d, stderr %q; want 2 and the usage", args, rc, errOut.String())
		}
	}
}

// The agent refuses a malicious archive like Extract does and writes nothing
// outside its directory; its report says tar failed.
func TestAgentRecvRefusesEscapes(t *testing.T) {
	tmp := t.TempDir()
	var arch bytes.Buffer
	tw := tar.NewWriter(&arch)
	for _, name := range []string{"x/ok.txt", "x/../../evil.txt"} {
		_ = tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: 2, Typeflag: tar.TypeReg})
		_, _ = tw.Write([]byte("hi"))
	}
	_ = tw.Close()
	dest := filepath.Join(tmp, "dest")
	var out, errOut bytes.Buffer
	rc := AgentMain([]string{"recv", dest, "x", codecNone}, bytes.NewReader(arch.Bytes()), &out, &errOut)
	if rc != 0 {
		t.Fatalf("rc %d: %s", rc, errOut.String())
	}
	rep, err := parseReport(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if rep.tarRC != 2 || rep.stdin != int64(arch.Len()) || !strings.Contains(errOut.String(), "unsafe archive entry") {
		t.Errorf("report %+v, stderr %q: want tar 2, stdin %d, an unsafe entry", rep, errOut.String(), arch.Len())
	}
	if diff := cmp.Diff(listAll(t, tmp), []string{"dest", filepath.Join("dest", "x"), filepath.Join("dest", "x", "ok.txt")}); diff != "" {
		t.Errorf("files (-got +want):\n%s", diff)
	}
}

// The block stream round-trips compressible and incompressible data of
// every shape (empty, one byte, exactly a block, blocks and a bit) with any
// number of encoders, leaves what follows it unread, and refuses cut or
// corrupt streams.
func TestBlockStream(t *testing.T) {
	text := bytes.Repeat([]byte("INSERT INTO orders VALUES (42, 'widget', 3.50);\n"), 300_000)
	random := randomBytes(2*s2Block+77, 5)
	mixed := append(append([]byte{}, text[:s2Block+10]...), random[:s2Block]...)
	for _, enc := range []int{1, 2, 4} {
		for name, payload := range map[string][]byte{"empty": nil, "one byte": {7}, "one block": text[:s2Block], "text": text, "random": random, "mixed": mixed} {
			var buf bytes.Buffer
			bw := newBlockWriter(&buf, enc)
			// Odd write sizes cross block boundaries.
			for rest := payload; len(rest) > 0; {
				n := min(len(rest), 1_000_003)
				if _, err := bw.Write(rest[:n]); err != nil {
					t.Fatal(err)
				}
				rest = rest[n:]
			}
			if err := bw.Close(); err != nil {
				t.Fatal(err)
			}
			if name == "text" && buf.Len() > len(payload)/4 {
				t.Errorf("%d encoders: %d bytes of text became %d", enc, len(payload), buf.Len())
			}
			if name == "random" && buf.Len() > len(payload)+64 {
				t.Errorf("%d encoders: %d random bytes became %d (stored blocks should cost 4 bytes each)", enc, len(payload), buf.Len())
			}
			buf.WriteString("after")
			br := bufio.NewReader(bytes.NewReader(buf.Bytes()))
			got, err := io.ReadAll(newBlockReader(br))
			if err != nil || !bytes.Equal(got, payload) {
				t.Fatalf("%s, %d encoders: read %d bytes, err %v; want the %d bytes written", name, enc, len(got), err, len(payload))
			}
			if rest, _ := io.ReadAll(br); string(rest) != "after" {
				t.Errorf("%s: after the stream %q, want \"after\"", name, rest)
			}
		}
	}

	var buf bytes.Buffer
	bw := newBlockWriter(&buf, 2)
	_, _ = bw.Write(mixed)
	_ = bw.Close()
	full := buf.Bytes()
	for _, cut := range []int{0, 3, 4, 1000, len(full) - 5, len(full) - 1} {
		_, err := io.ReadAll(newBlockReader(bytes.NewReader(full[:cut])))
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("cut at %d: %v, want io.ErrUnexpectedEOF", cut, err)
		}
	}
	for _, tt := range []struct {
		name   string
		stream []byte
		want   string
	}{
		{"huge frame", []byte{0x7f, 0xff, 0xff, 0xff, 1, 2, 3}, "frame of"},
		{"huge stored frame", []byte{0xff, 0xff, 0xff, 0xff, 1, 2, 3}, "stored frame of"},
		{"not S2", []byte{0, 0, 0, 3, 0xff, 0xff, 0xff, 0, 0, 0, 0}, "corrupt S2 block"},
	} {
		if _, err := io.ReadAll(newBlockReader(bytes.NewReader(tt.stream))); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
}

// A failed write stops the writer with that error.
func TestBlockWriterWriteError(t *testing.T) {
	boom := errors.New("boom")
	bw := newBlockWriter(failWriter{boom}, 2)
	var err error
	for i := 0; i < 8 && err == nil; i++ {
		_, err = bw.Write(make([]byte, s2Block))
	}
	if !errors.Is(err, boom) {
		t.Errorf("Write: %v, want boom", err)
	}
	if err := bw.Close(); !errors.Is(err, boom) {
		t.Errorf("Close: %v, want boom", err)
	}
}

// A writer allocates its blocks as the stream needs them, and never more
// than maxEncoders+1 however many encoders it is asked for.
func TestBlockWriterAllocates(t *testing.T) {
	var buf bytes.Buffer
	bw := newBlockWriter(&buf, 64)
	if _, err := bw.Write([]byte("small")); err != nil {
		t.Fatal(err)
	}
	if err := bw.Close(); err != nil {
		t.Fatal(err)
	}
	if bw.made != 1 || cap(bw.free) != maxEncoders+1 {
		t.Errorf("a 5-byte stream made %d blocks of at most %d; want 1 of %d", bw.made, cap(bw.free), maxEncoders+1)
	}
	// A slow link: every block is in use before the first is written. The
	// link's first write waits until that is so (a wait of a fixed time was
	// not always long enough on a loaded machine).
	link := &stalledWriter{}
	bw = newBlockWriter(link, 64)
	link.bw = bw
	if _, err := bw.Write(make([]byte, 8*s2Block)); err != nil {
		t.Fatal(err)
	}
	_ = bw.Close()
	if bw.made != maxEncoders+1 {
		t.Errorf("an 8-block stream to a slow link made %d blocks; want %d", bw.made, maxEncoders+1)
	}
}

// stalledWriter is the link of a blockWriter whose first write waits until
// every other block is queued behind it (at most a minute): the writer then
// has made all the blocks it may.
type stalledWriter struct {
	bw    *blockWriter
	wrote bool
}

func (s *stalledWriter) Write(p []byte) (int, error) {
	if !s.wrote {
		s.wrote = true
		for deadline := time.Now().Add(time.Minute); len(s.bw.queue) < cap(s.bw.queue)-1 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
	}
	return len(p), nil
}

// Abort ends the stream without its end frame.
func TestBlockWriterAbort(t *testing.T) {
	var buf bytes.Buffer
	bw := newBlockWriter(&buf, 2)
	if _, err := bw.Write(randomBytes(s2Block+10, 8)); err != nil {
		t.Fatal(err)
	}
	bw.Abort()
	got, err := io.ReadAll(newBlockReader(bytes.NewReader(buf.Bytes())))
	if !errors.Is(err, io.ErrUnexpectedEOF) || len(got) != s2Block {
		t.Errorf("read %d bytes, %v; want the first block and io.ErrUnexpectedEOF", len(got), err)
	}
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

// A block stream from a hostile container never panics, never yields more
// than a block per frame, and ends in io.EOF only after an end frame.
func FuzzBlockReader(f *testing.F) {
	var buf bytes.Buffer
	bw := newBlockWriter(&buf, 1)
	_, _ = bw.Write(bytes.Repeat([]byte("INSERT INTO t VALUES (1);\n"), 100))
	_ = bw.Close()
	f.Add(buf.Bytes())
	f.Add([]byte{0x80, 0, 0, 3, 'a', 'b', 'c', 0, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 2, 0x05, 0x10})
	f.Fuzz(func(t *testing.T, stream []byte) {
		frames := 0
		for i := 0; i+4 <= len(stream); frames++ {
			n := int(binary.BigEndian.Uint32(stream[i:]) &^ frameRaw)
			if n == 0 {
				break
			}
			i += 4 + n
		}
		got, err := io.ReadAll(newBlockReader(bytes.NewReader(stream)))
		if len(got) > (frames+1)*s2Block {
			t.Fatalf("%d bytes out of %d frames", len(got), frames)
		}
		if err == nil && !bytes.Contains(stream, []byte{0, 0, 0, 0}) {
			t.Fatalf("a stream without an end frame read to its end without an error")
		}
	})
}
