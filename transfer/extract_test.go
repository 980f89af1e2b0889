package transfer

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type tarEntry struct {
	hdr  tar.Header
	body string
}

func file(name, body string) tarEntry {
	return tarEntry{hdr: tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))}, body: body}
}

func dir(name string) tarEntry {
	return tarEntry{hdr: tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755}}
}

func symlink(name, target string) tarEntry {
	return tarEntry{hdr: tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777}}
}

func hardlink(name, target string) tarEntry {
	return tarEntry{hdr: tar.Header{Name: name, Typeflag: tar.TypeLink, Linkname: target, Mode: 0o644}}
}

// buildTar writes the entries as they are, however hostile.
func buildTar(t testing.TB, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.hdr
		h.ModTime = time.Unix(1700000000, 0)
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatalf("write header %q: %v", h.Name, err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// The kubectl cp CVEs and their relatives. Each archive is extracted into
// tmp/dest; tmp/outside is a directory an attacker would like to write to.
func TestExtractRefusesUnsafeEntries(t *testing.T) {
	tests := []struct {
		name    string
		prefix  string
		setup   func(t *testing.T, tmp string) // before extraction
		entries func(tmp string) []tarEntry
		bad     string // the entry the error must name
	}{
		{name: "CVE-2018-1002100 dotdot", entries: func(string) []tarEntry { return []tarEntry{file("../outside/evil", "x")} }, bad: "../outside/evil"},
		{name: "CVE-2018-1002100 nested dotdot", entries: func(string) []tarEntry {
			return []tarEntry{dir("a/"), file("a/../../outside/evil", "x")}
		}, bad: "a/../../outside/evil"},
		{name: "absolute path", entries: func(tmp string) []tarEntry { return []tarEntry{file(tmp+"/outside/evil", "x")} }, bad: "<tmp>/outside/evil"},
		{name: "CVE-2019-1002101 absolute symlink then file through it", entries: func(tmp string) []tarEntry {
			return []tarEntry{symlink("link", tmp+"/outside"), file("link/evil", "x")}
		}, bad: "link"},
		{name: "CVE-2019-1002101 relative symlink out", entries: func(string) []tarEntry {
			return []tarEntry{symlink("link", "../outside"), file("link/evil", "x")}
		}, bad: "link"},
		{name: "CVE-2019-11246 symlink chain", entries: func(string) []tarEntry {
			return []tarEntry{symlink("a", "."), symlink("b", "a/.."), file("b/outside/evil", "x")}
		}, bad: "b"},
		{name: "CVE-2019-11246 symlink to parent in subdir", entries: func(string) []tarEntry {
			return []tarEntry{dir("d/"), symlink("d/up", ".."), symlink("d2", "d/up/..")}
		}, bad: "d/up"},
		{name: "CVE-2019-11251 write through in-tree symlink", entries: func(string) []tarEntry {
			return []tarEntry{dir("sub/"), symlink("link", "sub"), file("link/evil", "x")}
		}, bad: "link/evil"},
		{name: "write through a symlink already in dest", setup: func(t *testing.T, tmp string) {
			if err := os.Symlink(filepath.Join(tmp, "outside"), filepath.Join(tmp, "dest", "pre")); err != nil {
				t.Fatal(err)
			}
		}, entries: func(string) []tarEntry { return []tarEntry{file("pre/evil", "x")} }, bad: "pre/evil"},
		{name: "file over a symlink", entries: func(string) []tarEntry {
			return []tarEntry{file("x", "x"), symlink("l", "x"), file("l", "evil")}
		}, bad: "l"},
		{name: "symlink over an existing file", entries: func(string) []tarEntry {
			return []tarEntry{file("x", "x"), symlink("x", "y")}
		}, bad: "x"},
		{name: "hardlink outside", entries: func(string) []tarEntry { return []tarEntry{hardlink("h", "../outside/secret")} }, bad: "h"},
		{name: "hardlink absolute", entries: func(tmp string) []tarEntry { return []tarEntry{hardlink("h", tmp+"/outside/secret")} }, bad: "h"},
		{name: "hardlink to a file not in the archive", setup: func(t *testing.T, tmp string) {
			writeFile(t, filepath.Join(tmp, "dest", "there"), []byte("x"), 0o644)
		}, entries: func(string) []tarEntry { return []tarEntry{hardlink("h", "there")} }, bad: "h"},
		{name: "hardlink to a symlink", entries: func(string) []tarEntry {
			return []tarEntry{symlink("s", "x"), hardlink("h", "s")}
		}, bad: "h"},
		{name: "char device", entries: func(string) []tarEntry {
			return []tarEntry{{hdr: tar.Header{Name: "null", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}}}
		}, bad: "null"},
		{name: "block device", entries: func(string) []tarEntry {
			return []tarEntry{{hdr: tar.Header{Name: "sda", Typeflag: tar.TypeBlock, Devmajor: 8}}}
		}, bad: "sda"},
		{name: "fifo", entries: func(string) []tarEntry { return []tarEntry{{hdr: tar.Header{Name: "p", Typeflag: tar.TypeFifo}}} }, bad: "p"},
		{name: "CVE-2019-11249 wrong prefix, sibling", prefix: "want", entries: func(string) []tarEntry {
			return []tarEntry{dir("want/"), file("want/ok", "x"), file("other/evil", "x")}
		}, bad: "other/evil"},
		{name: "CVE-2019-11249 wrong prefix, name extension", prefix: "want", entries: func(string) []tarEntry {
			return []tarEntry{file("wantx/evil", "x")}
		}, bad: "wantx/evil"},
		{name: "CVE-2019-11249 wrong prefix, top level", prefix: "want", entries: func(string) []tarEntry {
			return []tarEntry{file("x", "x")}
		}, bad: "x"},
		{name: "hardlink outside the prefix", prefix: "want", setup: func(t *testing.T, tmp string) {
			writeFile(t, filepath.Join(tmp, "dest", "other"), []byte("x"), 0o644)
		}, entries: func(string) []tarEntry {
			return []tarEntry{file("want/f", "x"), hardlink("want/h", "other")}
		}, bad: "want/h"},
		{name: "top-level symlink", prefix: "want", entries: func(string) []tarEntry {
			return []tarEntry{symlink("want", "elsewhere")}
		}, bad: "want"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			dest := filepath.Join(tmp, "dest")
			for _, d := range []string{dest, filepath.Join(tmp, "outside")} {
				if err := os.Mkdir(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			writeFile(t, filepath.Join(tmp, "outside", "secret"), []byte("secret"), 0o600)
			if tt.setup != nil {
				tt.setup(t, tmp)
			}
			before := snapshot(t, filepath.Join(tmp, "outside"))
			_, err := Extract(bytes.NewReader(buildTar(t, tt.entries(tmp))), LocalPath(dest), ExtractOptions{Prefix: tt.prefix})
			var ue *UnsafeEntryError
			if !errors.As(err, &ue) {
				t.Fatalf("Extract = %v, want an *UnsafeEntryError", err)
			}
			if want := strings.ReplaceAll(tt.bad, "<tmp>", tmp); ue.Entry != want {
				t.Errorf("error names %q, want %q (%v)", ue.Entry, want, err)
			}
			if diff := cmp.Diff(snapshot(t, filepath.Join(tmp, "outside")), before); diff != "" {
				t.Errorf("outside changed (-got +want):\n%s", diff)
			}
			for _, p := range listAll(t, tmp) {
				if !strings.HasPrefix(p, "dest") && !strings.HasPrefix(p, "outside") {
					t.Errorf("written outside dest: %s", p)
				}
			}
		})
	}
}

// A PAX sparse file (format 1.0) whose map has no data: 1 TiB of zeros
// from 1.5 KiB of archive. Go's writer cannot write one, so the PAX header
// is a regular entry with its type byte patched to 'x'.
func TestExtractRefusesSparse(t *testing.T) {
	records := "22 GNU.sparse.major=1\n22 GNU.sparse.minor=0\n21 GNU.sparse.name=s\n37 GNU.sparse.realsize=1099511627776\n"
	data := buildTar(t, []tarEntry{file("PaxHeaders/s", records), file("s", "0\n"+strings.Repeat("\x00", 510))})
	hdr := data[:512]
	hdr[156] = 'x'
	copy(hdr[148:156], "        ")
	sum := 0
	for _, c := range hdr {
		sum += int(c)
	}
	copy(hdr[148:156], fmt.Sprintf("%06o\x00 ", sum))
	_, err := Extract(bytes.NewReader(data), LocalPath(t.TempDir()), ExtractOptions{})
	var ue *UnsafeEntryError
	if !errors.As(err, &ue) || ue.Entry != "s" {
		t.Errorf("Extract = %v, want an *UnsafeEntryError naming s", err)
	}
}

func TestExtractTree(t *testing.T) {
	long := strings.Repeat("x", 120)
	entries := []tarEntry{
		dir("./want/"),
		dir("./want/sub/"),
		file("./want/sub/file", "hello"),
		file("./want/empty", ""),
		file("./want/"+long, "long"),
		file("./want/héllo ✓ \"q\" 'q'.txt", "unicode"),
		symlink("./want/link", "sub/file"),
		symlink("./want/sub/self", "."),
		hardlink("./want/hard", "./want/sub/file"),
		{hdr: tar.Header{Name: "./want/suid", Typeflag: tar.TypeReg, Mode: 0o4755, Size: 2}, body: "#!"},
		file("./want/sub/file", "hello again"), // a duplicate replaces, through a fresh inode
	}
	dest := filepath.Join(t.TempDir(), "dest")
	res, err := Extract(bytes.NewReader(buildTar(t, entries)), LocalPath(dest), ExtractOptions{Prefix: "want"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		".":                          "dir",
		"want":                       "dir",
		"want/sub":                   "dir",
		"want/sub/file":              "file x=false " + sha([]byte("hello again")),
		"want/empty":                 "file x=false " + sha(nil),
		"want/" + long:               "file x=false " + sha([]byte("long")),
		"want/héllo ✓ \"q\" 'q'.txt": "file x=false " + sha([]byte("unicode")),
		"want/link":                  "link sub/file",
		"want/sub/self":              "link .",
		"want/hard":                  "file x=false " + sha([]byte("hello")),
		"want/suid":                  "file x=true " + sha([]byte("#!")),
	}
	if diff := cmp.Diff(snapshot(t, dest), want); diff != "" {
		t.Errorf("tree (-got +want):\n%s", diff)
	}
	fi, err := os.Stat(filepath.Join(dest, "want", "suid"))
	if err != nil {
		t.Fatal(err)
	}
	umask := currentUmask()
	if got, want := fi.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky), fs.FileMode(0o755&^umask); got != want {
		t.Errorf("mode of a setuid entry = %v, want %v", got, want)
	}
	if res.Files != 6 || res.Bytes != int64(len("hello again")+len("long")+len("unicode")+len("hello")+2) {
		t.Errorf("result = %+v", res)
	}
}

// FuzzExtract: any archive either extracts or fails with an error; nothing
// is ever written outside dest.
func FuzzExtract(f *testing.F) {
	f.Add(buildTar(f, []tarEntry{file("a", "x"), dir("d/"), symlink("d/l", "../a")}))
	f.Add(buildTar(f, []tarEntry{symlink("a", "."), symlink("b", "a/.."), file("b/evil", "x")}))
	f.Add(buildTar(f, []tarEntry{dir("sub/"), symlink("link", "sub"), file("link/f", "x"), hardlink("h", "link/f")}))
	f.Add(buildTar(f, []tarEntry{file("d/./a", "x"), file("d//a", "y"), file("D/A", "z")}))
	f.Fuzz(func(t *testing.T, data []byte) {
		tmp := t.TempDir()
		dest := filepath.Join(tmp, "dest")
		_, _ = Extract(bytes.NewReader(data), LocalPath(dest), ExtractOptions{})
		for _, p := range listAll(t, tmp) {
			if p != "dest" && !strings.HasPrefix(p, "dest"+string(filepath.Separator)) {
				t.Fatalf("written outside dest: %s", p)
			}
		}
		// No symlink inside dest may resolve outside it.
		_ = filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type()&fs.ModeSymlink != 0 {
				if real, err := filepath.EvalSymlinks(p); err == nil {
					if rel, err := filepath.Rel(dest, real); err != nil || strings.HasPrefix(rel, "..") {
						t.Fatalf("symlink %s resolves outside dest: %s", p, real)
					}
				}
			}
			return nil
		})
	})
}

// Names that are one file on disk: spelt differently (d/./a, d//a and d/a),
// or differing only in case (one file on a case-insensitive file system,
// macOS's and Windows' defaults) or in Unicode normalisation (one on macOS).
// They are refused, naming both, so that no download counts and verifies a
// file twice while only one arrived.
func TestExtractRefusesAliasedNames(t *testing.T) {
	tests := []struct {
		name    string
		entries []tarEntry
		bad     string
		other   string // the earlier name, in the message
	}{
		{"dot component", []tarEntry{file("d/./a", "X"), file("d/a", "Y")}, "d/a", "d/./a"},
		{"double slash", []tarEntry{file("d//a", "X"), file("d/a", "Y")}, "d/a", "d//a"},
		{"dot prefix and dot component", []tarEntry{file("./d/a", "X"), file("d/./a", "Y")}, "d/./a", "./d/a"},
		{"hardlink spelt differently", []tarEntry{file("d/a", "X"), hardlink("d/b", "d/a"), file("d/./b", "Y")}, "d/./b", "d/b"},
		{"case", []tarEntry{file("README", "X"), file("readme", "Y")}, "readme", "README"},
		{"case of a directory", []tarEntry{file("Docs/a", "X"), file("docs/b", "Y")}, "docs/b", "Docs"},
		{"case of a symlink", []tarEntry{file("a", "X"), symlink("A", "a")}, "A", "a"},
		{"Unicode normalisation", []tarEntry{file("caf\u00e9", "X"), file("cafe\u0301", "Y")}, "cafe\u0301", "caf\u00e9"},
		{"Unicode case", []tarEntry{file("\u00c9t\u00e9", "X"), file("\u00e9t\u00e9", "Y")}, "\u00e9t\u00e9", "\u00c9t\u00e9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Extract(bytes.NewReader(buildTar(t, tt.entries)), LocalPath(t.TempDir()), ExtractOptions{})
			var ue *UnsafeEntryError
			if !errors.As(err, &ue) || ue.Entry != tt.bad || !strings.Contains(err.Error(), fmt.Sprintf("%q", tt.other)) {
				t.Errorf("Extract = %v; want an *UnsafeEntryError naming %q and %q", err, tt.bad, tt.other)
			}
		})
	}
	// The same name twice is a duplicate (tar -r): the later one replaces
	// the earlier, and the result counts one file.
	res, err := Extract(bytes.NewReader(buildTar(t, []tarEntry{dir("d/"), file("d/a", "X"), dir("./d"), file("d/a", "YY")})), LocalPath(t.TempDir()), ExtractOptions{})
	if err != nil || res.Files != 1 || res.Bytes != 2 {
		t.Errorf("a duplicate entry: %+v, %v; want 1 file of 2 bytes", res, err)
	}
}

// Names and symlink targets that are harmless words on Linux but paths on
// Windows (a release target): a backslash is a separator there, C: a drive,
// \\host\share a network path. They are refused whatever the local system
// (a tar from a Linux container never needs them); on Windows also what
// would name a device, an alternate data stream or, by Windows dropping a
// trailing dot or space, another file.
func TestExtractRefusesWindowsPaths(t *testing.T) {
	everywhere := []struct {
		name  string
		entry tarEntry
	}{
		{"symlink target with backslashes", symlink("l", `..\..\outside`)},
		{"symlink target with a drive", symlink("l", `C:\Windows\System32`)},
		{"symlink target drive-relative", symlink("l", `C:outside`)},
		{"symlink target UNC", symlink("l", `\\host\share\x`)},
		{"symlink target UNC with slashes", symlink("l", `//host/share/x`)},
		{"symlink target device path", symlink("l", `\\?\C:\x`)},
		{"name with backslashes", file(`..\outside\evil`, "x")},
		{"name inside a directory with a backslash", file(`d/..\..\evil`, "x")},
		{"name with a drive", file(`C:\evil`, "x")},
		{"name drive-relative", file(`c:evil`, "x")},
		{"hardlink target with backslashes", hardlink("h", `..\outside\secret`)},
	}
	windowsOnly := []struct {
		name  string
		entry tarEntry
	}{
		{"device name", file("con", "x")},
		{"device name with an extension", file("d/NUL.txt", "x")},
		{"COM port", file("com1", "x")},
		{"alternate data stream", file("log:stream", "x")},
		{"trailing dot", file("a.", "x")},
		{"trailing space", file("d /f", "x")},
		{"reserved character", file("a?b", "x")},
		{"symlink target with a device name", symlink("l", "sub/aux")},
		{"symlink target with a stream", symlink("l", "data::$DATA")},
	}
	extract := func(goos string, e tarEntry) error {
		tmp := t.TempDir()
		dest := filepath.Join(tmp, "dest")
		writeFile(t, filepath.Join(tmp, "outside", "secret"), []byte("s"), 0o600)
		if err := os.Mkdir(dest, 0o755); err != nil {
			t.Fatal(err)
		}
		root, err := os.OpenRoot(dest)
		if err != nil {
			t.Fatal(err)
		}
		defer root.Close()
		entries := []tarEntry{file("x", "x"), e}
		_, err = extract(tar.NewReader(bytes.NewReader(buildTar(t, entries))), root, ExtractOptions{local: &localFS{goos: goos, fold: foldName}})
		return err
	}
	for _, goos := range []string{"linux", "windows", "darwin"} {
		for _, tt := range everywhere {
			t.Run(goos+"/"+tt.name, func(t *testing.T) {
				var ue *UnsafeEntryError
				if err := extract(goos, tt.entry); !errors.As(err, &ue) || ue.Entry != tt.entry.hdr.Name {
					t.Errorf("extract = %v, want an *UnsafeEntryError naming %q", err, tt.entry.hdr.Name)
				}
			})
		}
		for _, tt := range windowsOnly {
			t.Run(goos+"/"+tt.name, func(t *testing.T) {
				err := extract(goos, tt.entry)
				var ue *UnsafeEntryError
				switch {
				case goos == "windows" && (!errors.As(err, &ue) || ue.Entry != tt.entry.hdr.Name):
					t.Errorf("extract = %v, want an *UnsafeEntryError naming %q", err, tt.entry.hdr.Name)
				case goos != "windows" && err != nil:
					t.Errorf("extract = %v; on %s the name is an ordinary one", err, goos)
				}
			})
		}
	}
}

// A container path whose last element would be a path on Windows is
// refused before anything runs.
func TestDownloadRefusesWindowsPathName(t *testing.T) {
	for _, src := range []string{`/c/..\..\x`, `/c/C:x`, `C:\x`} {
		ran := false
		ex := execFunc(func(context.Context, []string, io.Reader, io.Writer, io.Writer) error { ran = true; return nil })
		tools := *scriptTools
		_, err := Download(context.Background(), ex, RemotePath(src), LocalPath(filepath.Join(t.TempDir(), "x")), Options{Tools: &tools})
		if err == nil || ran {
			t.Errorf("Download(%q) = %v (ran: %v); want it refused before any exec", src, err, ran)
		}
	}
}

// A name with a backslash is an ordinary name in a Linux container: it
// uploads (with the image's tar and with the agent). It does not come back
// down: on Windows it would be a path.
func TestBackslashNameGoesUpNotDown(t *testing.T) {
	for _, agent := range []bool{false, true} {
		t.Run(map[bool]string{false: "tar", true: "agent"}[agent], func(t *testing.T) {
			tmp := t.TempDir()
			src := filepath.Join(tmp, "local", "src")
			writeFile(t, filepath.Join(src, `back\slash.txt`), []byte("x"), 0o644)
			writeFile(t, filepath.Join(src, "ok.txt"), []byte("y"), 0o644)
			ex := busyboxImage(t)
			opts := Options{}
			if agent {
				opts = agentOpts(t, probed(t, ex))
			}
			remote := filepath.Join(tmp, "container", "up")
			if _, err := Upload(context.Background(), ex, LocalPath(src), RemotePath(remote), opts); err != nil {
				t.Fatalf("Upload: %v", err)
			}
			if got, err := os.ReadFile(filepath.Join(remote, `back\slash.txt`)); err != nil || string(got) != "x" {
				t.Fatalf("in the container: %q, %v", got, err)
			}
			local := filepath.Join(tmp, "local", "down")
			_, err := Download(context.Background(), ex, RemotePath(remote), LocalPath(local), opts)
			var ue *UnsafeEntryError
			if !errors.As(err, &ue) || !strings.HasSuffix(ue.Entry, `up/back\slash.txt`) {
				t.Errorf("Download = %v, want an *UnsafeEntryError naming the file", err)
			}
			if _, err := os.Stat(local); err == nil {
				t.Error("the download left something behind")
			}
		})
	}
}
