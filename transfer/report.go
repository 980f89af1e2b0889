package transfer

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

const reportMarker = "CSCRIPT-REPORT-1"

// maxReport bounds the report read into memory (it grows with the number of
// files, about 100 bytes each, not with their size).
const maxReport = 64 << 20

// fileSum is what one side knows of one regular file.
type fileSum struct {
	size int64
	sha  string // hex, or "" when unknown
}

// report is the parsed output of a remote script.
type report struct {
	tarRC    int   // -1 when absent
	stdin    int64 // -1 when unknown
	files    map[string]fileSum
	order    []string // file names in report order
	missing  bool
	isDir    bool
	complete bool // the end record was seen
}

// parseReport parses data, which must start with the marker (leading NUL
// bytes, e.g. tar's end-of-archive padding, are skipped). Names are made
// canonical like archive entries ("./a//b" → "a/b"); a name that is not safe
// or that comes twice is an error.
func parseReport(data []byte) (*report, error) {
	data = bytes.TrimLeft(data, "\x00")
	r := &report{tarRC: -1, stdin: -1, files: map[string]fileSum{}}
	if !bytes.HasPrefix(data, []byte(reportMarker+"\x00")) {
		return r, fmt.Errorf("no report marker in the container's output (%d bytes)", len(data))
	}
	data = data[len(reportMarker)+1:]
	for len(data) > 0 {
		i := bytes.IndexByte(data, 0)
		if i < 0 {
			return r, fmt.Errorf("unterminated report record %q", clip(string(data)))
		}
		rec := string(data[:i])
		data = data[i+1:]
		if r.complete {
			return r, fmt.Errorf("report record %q after end", clip(rec))
		}
		kind, rest, _ := strings.Cut(rec, "\t")
		switch kind {
		case "end":
			r.complete = true
		case "missing":
			r.missing = true
		case "isdir":
			r.isDir = true
		case "tar":
			n, err := strconv.Atoi(strings.TrimSpace(rest))
			if err != nil {
				return r, fmt.Errorf("bad report record %q", clip(rec))
			}
			r.tarRC = n
		case "stdin":
			if strings.TrimSpace(rest) == "-" {
				continue
			}
			n, err := strconv.ParseInt(strings.TrimSpace(rest), 10, 64)
			if err != nil {
				return r, fmt.Errorf("bad report record %q", clip(rec))
			}
			r.stdin = n
		case "F":
			f := strings.SplitN(rest, "\t", 3)
			if len(f) != 3 {
				return r, fmt.Errorf("bad report record %q", clip(rec))
			}
			s := fileSum{size: -1}
			if n, err := strconv.ParseInt(strings.TrimSpace(f[0]), 10, 64); err == nil {
				s.size = n
			}
			if sha := strings.TrimSpace(f[1]); len(sha) == 64 {
				s.sha = sha
			}
			name, reason := cleanName(pathRules{}, f[2])
			if reason != "" {
				return r, fmt.Errorf("report record %q: %s", clip(rec), reason)
			}
			if _, dup := r.files[name]; dup {
				// One file counted twice ("d/./a" and "d/a").
				return r, fmt.Errorf("the report names %q twice", name)
			}
			r.order = append(r.order, name)
			r.files[name] = s
		default:
			return r, fmt.Errorf("unknown report record %q", clip(rec))
		}
	}
	if !r.complete {
		return r, fmt.Errorf("report ends early")
	}
	return r, nil
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// compareFiles checks that every sent file is in got with the same size and,
// when checkSHA, the same sha256. Files in got that were not sent are ignored
// only when extraOK (an upload into a directory that already held files);
// otherwise they mean a file the other side has that did not arrive.
func compareFiles(sent map[string]fileSum, got map[string]fileSum, checkSHA, extraOK bool, sentName, gotName string) error {
	for _, name := range sortedNames(sent) {
		want := sent[name]
		have, ok := got[name]
		if !ok {
			return &VerifyError{Path: name, Reason: "missing " + gotName, WantBytes: want.size, GotBytes: -1}
		}
		if have.size != want.size {
			return &VerifyError{Path: name, Reason: "size differs " + gotName, WantBytes: want.size, GotBytes: have.size, WantSHA256: want.sha, GotSHA256: have.sha}
		}
		if checkSHA && (have.sha == "" || want.sha == "" || have.sha != want.sha) {
			return &VerifyError{Path: name, Reason: "sha256 differs " + gotName, WantBytes: want.size, GotBytes: have.size, WantSHA256: want.sha, GotSHA256: have.sha}
		}
	}
	if !extraOK {
		for _, name := range sortedNames(got) {
			if _, ok := sent[name]; !ok {
				return &VerifyError{Path: name, Reason: "missing " + sentName, WantBytes: got[name].size, GotBytes: -1}
			}
		}
	}
	return nil
}
