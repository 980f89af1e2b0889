package store

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Both sides committed, to different files and to different lines of one
// file: sync puts the local commits on top of the remote's and pushes;
// nothing is kept on a branch.
func TestGitSyncRebasesLocalCommitsThatDoNotConflict(t *testing.T) {
	isolateGitEnv(t)
	srv := startGitDaemon(t)
	url := srv.NewRepo(t, "lib")
	gitSeedLibrary(t, url, map[string]string{"hello.yaml": "a: 1\nb: 2\nc: 3\nd: 4\ne: 5\n", "decks/x.yaml": "ns: x\n"})
	a := gitClone(t, url)
	b := gitClone(t, url)

	gitWriteFile(t, filepath.Join(a, "hello.yaml"), "a: 10\nb: 2\nc: 3\nd: 4\ne: 5\n")
	gitWriteFile(t, filepath.Join(a, "decks", "y.yaml"), "ns: y\n")
	theirs := gitCommit(t, a, "A edits a, adds deck y")
	gitSync(t, a, GitOptions{})

	gitWriteFile(t, filepath.Join(b, "hello.yaml"), "a: 1\nb: 2\nc: 3\nd: 4\ne: 50\nf: 6\n")
	first := gitCommit(t, b, "B edits e, adds f")
	gitWriteFile(t, filepath.Join(b, "b.yaml"), "only in B\n")
	gitWriteFile(t, filepath.Join(b, "decks", "z.yaml"), "ns: z\n")
	second := gitCommit(t, b, "B adds b.yaml and deck z")

	now := func() time.Time { return time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC) }
	res := gitSync(t, b, GitOptions{Now: now})
	head := srv.Head(t, "lib")
	want := &SyncResult{
		Dir: b, URL: url, Branch: "main", Before: second, After: head, Pushed: true,
		Rebased: true, RebasedOnto: theirs, LocalCommits: []string{first, second},
		subjects: []string{"B edits e, adds f", "B adds b.yaml and deck z"},
	}
	if diff := cmp.Diff(res, want, cmp.AllowUnexported(SyncResult{})); diff != "" {
		t.Fatalf("Sync(B) (-got +want):\n%s", diff)
	}
	if got := gitHead(t, b); got != head {
		t.Errorf("B head %s, remote head %s", got, head)
	}
	if got := gitRun(t, b, "log", "--format=%s", "-3"); got != "B adds b.yaml and deck z\nB edits e, adds f\nA edits a, adds deck y" {
		t.Errorf("history:\n%s", got)
	}
	if got := gitReadFile(t, filepath.Join(b, "hello.yaml")); got != "a: 10\nb: 2\nc: 3\nd: 4\ne: 50\nf: 6\n" {
		t.Errorf("merged hello.yaml = %q", got)
	}
	if got := gitRun(t, b, "ls-tree", "-r", "--name-only", "HEAD"); got != "b.yaml\ndecks/x.yaml\ndecks/y.yaml\ndecks/z.yaml\nhello.yaml" {
		t.Errorf("files:\n%s", got)
	}
	gitRun(t, b, "fsck", "--strict") // the trees cscript wrote are well-formed
	if got := gitRun(t, b, "status", "--porcelain"); got != "" {
		t.Errorf("work tree not clean:\n%s", got)
	}
	if got := gitRun(t, b, "branch", "--list", "cscript/*"); got != "" {
		t.Errorf("a branch was kept: %s", got)
	}
	if msg := res.Message(); !strings.Contains(msg, "on top of") || !strings.Contains(msg, "B adds b.yaml and deck z") {
		t.Errorf("Message():\n%s", msg)
	}
	// A gets B's work with a fast-forward.
	if res := gitSync(t, a, GitOptions{}); !res.FastForwarded || res.After != head {
		t.Errorf("A's sync = %+v", res)
	}
}

func TestMerge3(t *testing.T) {
	l := func(s string) []string { return splitLines([]byte(s)) }
	tests := []struct {
		name, base, a, b, want string
		ok                     bool
	}{
		{"different lines", "1\n2\n3\n4\n", "1x\n2\n3\n4\n", "1\n2\n3\n4x\n", "1x\n2\n3\n4x\n", true},
		{"same change", "1\n2\n", "1\n2x\n", "1\n2x\n", "1\n2x\n", true},
		{"same line", "1\n2\n3\n", "1\n2a\n3\n", "1\n2b\n3\n", "", false},
		{"adjacent lines", "1\n2\n3\n4\n", "1\n2a\n3\n4\n", "1\n2\n3b\n4\n", "", false},
		{"both append", "1\n", "1\n2\n", "1\n3\n", "", false},
		{"insert and delete apart", "1\n2\n3\n4\n5\n", "0\n1\n2\n3\n4\n5\n", "1\n2\n3\n4\n", "0\n1\n2\n3\n4\n", true},
		{"one side unchanged", "1\n", "1\n", "2\n", "2\n", true},
		{"modified, the later wins", "name: x\nmodified: 2026-01-01T00:00:00Z\nd: 1\ne: 1\n", "name: x\nmodified: 2026-01-03T00:00:00Z\nd: 2\ne: 1\n",
			"name: x\nmodified: 2026-01-02T00:00:00Z\nd: 1\ne: 1\nf: 1\n", "name: x\nmodified: 2026-01-03T00:00:00Z\nd: 2\ne: 1\nf: 1\n", true},
		{"other lines are no timestamps", "x: 1\n", "x: 2\n", "x: 3\n", "", false},
	}
	for _, tt := range tests {
		got, ok := merge3(l(tt.base), l(tt.a), l(tt.b))
		if ok != tt.ok || (ok && strings.Join(got, "") != tt.want) {
			t.Errorf("%s: merge3 = %q, %v; want %q, %v", tt.name, strings.Join(got, ""), ok, tt.want, tt.ok)
		}
	}
}
