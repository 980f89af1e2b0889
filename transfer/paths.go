package transfer

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"
)

// split returns the parent directory and the name of a remote path. A path
// ending in "/" names a directory to copy into: name is then fallback.
func (p RemotePath) split(fallback string) (dir, name string, err error) {
	s := string(p)
	if s == "" || strings.ContainsRune(s, 0) {
		return "", "", fmt.Errorf("bad container path %q", s)
	}
	if strings.HasSuffix(s, "/") {
		s = path.Join(s, fallback)
	}
	s = path.Clean(s)
	dir, name = path.Dir(s), path.Base(s)
	if name == "/" || name == "." || name == ".." {
		return "", "", fmt.Errorf("container path %q does not name a file or directory", string(p))
	}
	return dir, name, nil
}

// resolve returns the cleaned local path; one ending in a separator names
// a directory to copy into, and fallback is appended.
func (p LocalPath) resolve(fallback string) (string, error) {
	s := string(p)
	if s == "" {
		return "", fmt.Errorf("empty local path")
	}
	if strings.HasSuffix(s, string(filepath.Separator)) {
		s = filepath.Join(s, fallback)
	}
	s = filepath.Clean(s)
	switch filepath.Base(s) {
	case ".", "..", string(filepath.Separator):
		return "", fmt.Errorf("local path %q does not name a file or directory", string(p))
	}
	return s, nil
}
