// Package agentbin carries the cscript-agent binaries (cmd/cscript-agent)
// that cscript copies into containers for large transfers, one per Linux
// architecture. They are built into bin/ by `go generate` (make build, make
// test and goreleaser run it); a cscript built without them still works and
// transfers with the image's own sh, tar and sha256sum.
package agentbin

import "embed"

//go:generate sh build.sh

//go:embed bin
var bins embed.FS

// For returns the agent for a GOARCH ("amd64", "arm64"), or nil when this
// build carries none.
func For(arch string) []byte {
	b, err := bins.ReadFile("bin/cscript-agent-linux-" + arch)
	if err != nil {
		return nil
	}
	return b
}

// Arches lists the architectures this build carries an agent for.
func Arches() []string {
	var out []string
	for _, a := range []string{"amd64", "arm64"} {
		if For(a) != nil {
			out = append(out, a)
		}
	}
	return out
}
