package lifecycle_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cscript-dev/cscript/lifecycle"
	"github.com/cscript-dev/cscript/lifecycle/lifecycletest"
)

func TestDirStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "resources", "d")
	lifecycletest.StoreContract(t, &lifecycle.DirStore{Dir: dir, Deck: "d"})
	// No temp files are left behind.
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temp file left: %s", e.Name())
		}
	}
	if got := lifecycle.LocalDir("/state/cscript", "dev"); got != "/state/cscript/resources/dev" {
		t.Errorf("LocalDir = %q", got)
	}
}
