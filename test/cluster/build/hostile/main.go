// Command hostile writes the malicious tar archives of the
// cscript.test/hostile:1 test image into the directory given as its argument,
// one file per attack (the kubectl cp CVEs: CVE-2018-1002100,
// CVE-2019-1002101, CVE-2019-11246, CVE-2019-11249, CVE-2019-11251). Each
// archive starts with a harmless ok.txt, so a test can also see whether an
// extractor stopped before or after writing anything.
package main

import (
	"archive/tar"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

type entry struct {
	name, link, body string
	typ              byte
}

var archives = map[string][]entry{
	// A path that climbs out of the destination.
	"dotdot": {{name: "../escaped.txt", body: "escaped\n"}},
	// An absolute path.
	"absolute": {{name: "/tmp/cscript-hostile-absolute.txt", body: "escaped\n"}},
	// A symlink to an absolute directory, then a file written through it.
	"symlink-absolute": {
		{name: "link", link: "/tmp", typ: tar.TypeSymlink},
		{name: "link/cscript-hostile-symlink.txt", body: "escaped\n"},
	},
	// A relative symlink that climbs out, then a file written through it.
	"symlink-relative": {
		{name: "up", link: "../..", typ: tar.TypeSymlink},
		{name: "up/escaped.txt", body: "escaped\n"},
	},
	// A symlink that points outside, left for a later write to follow.
	"symlink-dangling": {{name: "passwd", link: "/etc/passwd", typ: tar.TypeSymlink}},
	// Hard links to files outside the destination.
	"hardlink-absolute": {{name: "hl", link: "/etc/passwd", typ: tar.TypeLink}},
	"hardlink-relative": {{name: "hl", link: "../../etc/passwd", typ: tar.TypeLink}},
	// Device files and a FIFO.
	"device": {{name: "null", typ: tar.TypeChar}},
	"block":  {{name: "disk", typ: tar.TypeBlock}},
	"fifo":   {{name: "pipe", typ: tar.TypeFifo}},
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: hostile DIR")
		os.Exit(2)
	}
	for name, entries := range archives {
		if err := write(filepath.Join(os.Args[1], name+".tar"), entries); err != nil {
			fmt.Fprintln(os.Stderr, "hostile:", err)
			os.Exit(1)
		}
	}
}

func write(path string, entries []entry) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	mtime := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	all := append([]entry{{name: "ok.txt", body: "ok\n"}}, entries...)
	for _, e := range all {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		h := &tar.Header{Typeflag: typ, Name: e.name, Linkname: e.link, Mode: 0o644, ModTime: mtime, Size: int64(len(e.body)), Format: tar.FormatPAX}
		switch typ {
		case tar.TypeChar:
			h.Devmajor, h.Devminor = 1, 3
		case tar.TypeBlock:
			h.Devmajor, h.Devminor = 7, 0
		}
		if typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("%s: %s: %w", path, e.name, err)
		}
		if h.Size > 0 {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				return fmt.Errorf("%s: %s: %w", path, e.name, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return f.Close()
}
