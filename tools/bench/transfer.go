//go:build unix

package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/cscript-dev/cscript/transfer"
	"github.com/cscript-dev/cscript/transfer/agentbin"
)

// payload is one data file present both locally and in the transfer Pod.
type payload struct {
	name   string // file name
	local  string // local path
	remote string // path in the Pod
	size   int64
	sum    string
}

// payloads generates (or reuses) the local data files and copies each into
// the transfer Pod once, checking its sha256 there.
func (b *bench) payload(ctx context.Context, name string, gen func(io.Writer, int64) error, size int64) (*payload, error) {
	dir := filepath.Join(b.cfg.Work, "data")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	p := &payload{name: name, local: filepath.Join(dir, name), remote: remoteDataDir + "/" + name, size: size}
	fmt.Fprintf(b.log, "   data %s (%d bytes)\n", p.local, size)
	sum, err := dataFile(p.local, size, gen)
	if err != nil {
		return nil, err
	}
	p.sum = sum
	if _, err := b.transferPod(ctx); err != nil {
		return nil, err
	}
	if out, err := b.sh(ctx, `sha256sum "$1" 2>/dev/null || true`, p.remote); err == nil && strings.HasPrefix(out, sum) {
		return p, nil
	}
	c := b.kubectl("exec", "-i", "-n", b.cfg.Namespace, transferPod, "-c", transferCtr, "--", "sh", "-c", `cat > "$1"; true`, "sh", p.remote)
	c.Stdin = p.local
	if _, err := do(ctx, c); err != nil {
		return nil, err
	}
	out, err := b.sh(ctx, `sha256sum "$1"`, p.remote)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(out, sum) {
		return nil, fmt.Errorf("seeding %s into the pod: sha256 differs (%s)", name, strings.TrimSpace(out))
	}
	return p, nil
}

// remoteSize is the size of a file in the transfer Pod.
func (b *bench) remoteSize(ctx context.Context, path string) (int64, error) {
	out, err := b.sh(ctx, `wc -c < "$1"`, path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(out), 10, 64)
}

func wantSize(got, want int64, what string) error {
	if got != want {
		return fmt.Errorf("%s: %d bytes, want %d", what, got, want)
	}
	return nil
}

func localSize(path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// contenders chooses which contenders a transfer benchmark races.
type contenders struct {
	Compressed bool // cscript --compress
	Plain      bool // cscript without compression, and kubectl cp
	Raw        bool // the bare exec stream (kubectl exec … cat)
	NoAgent    bool // cscript with the image's tools instead of its agent
}

// uploaders returns the upload contenders for p: cscript's transfer.Upload
// (with or without compression), kubectl cp and, when raw, the bare exec
// stream. Each uploads to a fresh directory of the Pod.
func (b *bench) uploaders(p *payload, which contenders) []Contender {
	dest := func(who string) string { return remoteDataDir + "/up-" + who }
	fresh := func(who string) func(ctx context.Context, _ int) error {
		return func(ctx context.Context, _ int) error {
			_, err := b.sh(ctx, `rm -rf "$1" && mkdir -p "$1"`, dest(who))
			return err
		}
	}
	checkRemote := func(who string) func(ctx context.Context, _ int) error {
		return func(ctx context.Context, _ int) error {
			n, err := b.remoteSize(ctx, dest(who)+"/"+p.name)
			if err != nil {
				return err
			}
			return wantSize(n, p.size, who)
		}
	}
	cs := func(name string, compress, agent bool) Contender {
		var res *transfer.Result
		who := csWho(compress, agent)
		return Contender{
			Name:    name,
			Prepare: fresh(who),
			Run: func(ctx context.Context, _ int) (*Timed, error) {
				return timeFunc(func() (err error) {
					res, err = transfer.Upload(ctx, b.pod, transfer.LocalPath(p.local), transfer.RemotePath(dest(who)+"/"+p.name), csOptions(compress, agent))
					return err
				})
			},
			Check: func(context.Context, int) error {
				if res.Verified != transfer.VerifiedSHA256 || res.SHA256 != p.sum || res.Compressed != compress || res.Agent != agent {
					return fmt.Errorf("upload result %+v, want sha256-verified %s, compressed %v, agent %v", res, p.sum, compress, agent)
				}
				return wantSize(res.Bytes, p.size, "cscript upload")
			},
		}
	}
	var out []Contender
	if which.Compressed {
		out = append(out, cs("cscript --compress", true, true))
	}
	if which.Plain {
		out = append(out, cs("cscript", false, true))
	}
	out = append(out, Contender{
		Name:    "kubectl cp",
		Prepare: fresh("kc"),
		Run: func(ctx context.Context, _ int) (*Timed, error) {
			return timeCommand(ctx, b.kubectl("cp", "-c", transferCtr, p.local, b.cfg.Namespace+"/"+transferPod+":"+dest("kc")+"/"+p.name))
		},
		Check:      checkRemote("kc"),
		Unverified: true,
	})
	if which.Raw {
		out = append(out, Contender{
			Name:    "kubectl exec -i … cat (raw)",
			Prepare: fresh("raw"),
			Run: func(ctx context.Context, _ int) (*Timed, error) {
				// "; true" keeps the shell alive until cat has read all of
				// stdin (docs/exec-stdin.md: exec stdin loses data otherwise).
				c := b.kubectl("exec", "-i", "-n", b.cfg.Namespace, transferPod, "-c", transferCtr, "--", "sh", "-c", `cat > "$1"; true`, "sh", dest("raw")+"/"+p.name)
				c.Stdin = p.local
				return timeCommand(ctx, c)
			},
			Check:      checkRemote("raw"),
			Unverified: true,
		})
	}
	if which.NoAgent {
		out = append(out, cs(noAgentName, false, false))
	}
	return out
}

// downloaders returns the download contenders for p, each writing to a
// fresh local directory.
func (b *bench) downloaders(p *payload, which contenders) []Contender {
	dest := func(who string) string { return filepath.Join(b.cfg.Work, "down-"+who) }
	fresh := func(who string) func(context.Context, int) error {
		return func(context.Context, int) error {
			if err := os.RemoveAll(dest(who)); err != nil {
				return err
			}
			return os.MkdirAll(dest(who), 0o755)
		}
	}
	checkLocal := func(who string) func(context.Context, int) error {
		return func(context.Context, int) error {
			n, err := localSize(filepath.Join(dest(who), p.name))
			if err != nil {
				return err
			}
			return wantSize(n, p.size, who)
		}
	}
	cs := func(name string, compress, agent bool) Contender {
		var res *transfer.Result
		who := csWho(compress, agent)
		return Contender{
			Name:    name,
			Prepare: fresh(who),
			Run: func(ctx context.Context, _ int) (*Timed, error) {
				return timeFunc(func() (err error) {
					res, err = transfer.Download(ctx, b.pod, transfer.RemotePath(p.remote), transfer.LocalPath(filepath.Join(dest(who), p.name)), csOptions(compress, agent))
					return err
				})
			},
			Check: func(ctx context.Context, i int) error {
				if res.Verified != transfer.VerifiedSHA256 || res.SHA256 != p.sum || res.Compressed != compress || res.Agent != agent {
					return fmt.Errorf("download result %+v, want sha256-verified %s, compressed %v, agent %v", res, p.sum, compress, agent)
				}
				return checkLocal(who)(ctx, i)
			},
		}
	}
	var out []Contender
	if which.Compressed {
		out = append(out, cs("cscript --compress", true, true))
	}
	if which.Plain {
		out = append(out, cs("cscript", false, true))
	}
	out = append(out, Contender{
		Name:    "kubectl cp",
		Prepare: fresh("kc"),
		Run: func(ctx context.Context, _ int) (*Timed, error) {
			return timeCommand(ctx, b.kubectl("cp", "-c", transferCtr, b.cfg.Namespace+"/"+transferPod+":"+p.remote, filepath.Join(dest("kc"), p.name)))
		},
		Check:      checkLocal("kc"),
		Unverified: true,
	})
	if which.Raw {
		out = append(out, Contender{
			Name:    "kubectl exec … cat (raw)",
			Prepare: fresh("raw"),
			Run: func(ctx context.Context, _ int) (*Timed, error) {
				c := b.kubectl("exec", "-n", b.cfg.Namespace, transferPod, "-c", transferCtr, "--", "cat", p.remote)
				c.Stdout = filepath.Join(dest("raw"), p.name)
				return timeCommand(ctx, c)
			},
			Check:      checkLocal("raw"),
			Unverified: true,
		})
	}
	if which.NoAgent {
		out = append(out, cs(noAgentName, false, false))
	}
	return out
}

// noAgentName is the contender of cscript without its agent: the image's
// sh, tar and sha256sum do the Pod's side.
const noAgentName = "cscript, image's tools (no agent)"

func csWho(compress, agent bool) string {
	who := "cs"
	if compress {
		who += "z"
	}
	if !agent {
		who += "-img"
	}
	return who
}

// csOptions are the options `cscript run` passes (the agent unless
// CSCRIPT_TRANSFER_AGENT=off).
func csOptions(compress, agent bool) transfer.Options {
	opts := transfer.Options{Compress: compress}
	if agent {
		opts.Agent = agentbin.For
	}
	return opts
}

// mbps is a throughput in MB/s (10^6 bytes) for size bytes in d.
func mbps(size int64, d time.Duration) float64 { return float64(size) / 1e6 / d.Seconds() }

func find(samples []*Sample, name string) *Sample {
	for _, s := range samples {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// throughputRow compares cscript's throughput with a reference's.
func throughputRow(bench, metric string, size int64, cs, ref *Sample, want float64) Row {
	c, r := mbps(size, cs.Median()), mbps(size, ref.Median())
	return Row{
		Bench: bench, Metric: metric, Unit: "MB/s", CScript: c, Reference: ref.Name, Ref: r, HigherBetter: true,
		Target: fmt.Sprintf("≥ %.2g× %s", want, ref.Name), Met: boolp(c/r >= want),
	}
}

// transfers compares 500 MB of random data up and down.
func (b *bench) transfers(ctx context.Context) error {
	p, err := b.payload(ctx, "random.bin", randomData, b.cfg.Size)
	if err != nil {
		return err
	}
	n := b.cfg.NTransfer
	ups, downs := b.uploaders(p, contenders{Plain: true, Raw: true, NoAgent: true}), b.downloaders(p, contenders{Plain: true, Raw: true, NoAgent: true})
	up, err := interleave(ctx, b.log, "upload random", 0, n, ups...)
	if err != nil {
		return err
	}
	down, err := interleave(ctx, b.log, "download random", 0, n, downs...)
	if err != nil {
		return err
	}
	b.lossNote("transfer", up, down)
	mb := float64(p.size) / 1e6
	b.res.addGroup(Group{Bench: "transfer", Title: fmt.Sprintf("Upload of %.0f MB of random data", mb), Bytes: p.size, Samples: up})
	b.res.addGroup(Group{Bench: "transfer", Title: fmt.Sprintf("Download of %.0f MB of random data", mb), Bytes: p.size, Samples: down})
	for _, dir := range []struct {
		what    string
		samples []*Sample
	}{{"Upload", up}, {"Download", down}} {
		cs := find(dir.samples, "cscript")
		b.res.addRow(throughputRow("transfer", fmt.Sprintf("%s %.0f MB random, verified", dir.what, mb), p.size, cs, dir.samples[1], 0.95))
		b.res.addRow(throughputRow("transfer", fmt.Sprintf("%s %.0f MB random, verified", dir.what, mb), p.size, cs, dir.samples[2], 0.9))
	}
	if err := b.transferProfile(ctx, p, up, down); err != nil {
		return err
	}
	use, err := b.cpuNote(ctx, "transfer", "CPU used by each process during one more round", ups, downs)
	if err != nil {
		return err
	}
	for _, dir := range []string{"Upload", "Download"} {
		cs, pod := cpuSum(use[dir]["cscript"])
		kc, _ := cpuSum(use[dir]["kubectl cp"])
		b.explain("transfer", dir, fmt.Sprintf("on the 2 shared cores cscript's %s used %.1f s of CPU in all processes "+
			"against %.1f s for kubectl cp, %.1f s of it in the Pod (see \"Where a verified transfer's time goes\")",
			strings.ToLower(dir), cs.Seconds(), kc.Seconds(), pod.Seconds()))
	}
	return nil
}

// lossNote reports the rounds in which a reference (which verifies nothing)
// delivered less than the whole file.
func (b *bench) lossNote(bench string, up, down []*Sample) {
	var sb strings.Builder
	for _, g := range []struct {
		dir     string
		samples []*Sample
	}{{"upload", up}, {"download", down}} {
		for _, s := range g.samples {
			if s.Lost > 0 {
				fmt.Fprintf(&sb, "- %s, %s: %d round(s) delivered less than the whole file and exited 0; each was run again and only complete rounds are timed.\n", g.dir, s.Name, s.Lost)
			}
		}
	}
	if sb.Len() > 0 {
		b.res.addNote(Note{Bench: bench, Title: "Data lost by the references", Text: "After every round the size of what arrived is checked. " +
			"cscript verifies every transfer itself (sizes and sha256 on both sides) and fails rather than keep a partial file.\n\n" + sb.String()})
	}
}

// cpuNote adds a note with the CPU each component used in one extra round of
// every upload and download contender.
func (b *bench) cpuNote(ctx context.Context, bench, title string, ups, downs []Contender) (map[string]map[string]map[string]time.Duration, error) {
	all := map[string]map[string]map[string]time.Duration{}
	var sb strings.Builder
	sb.WriteString("Every byte crosses the client, the API server, the kubelet, containerd's CRI stream server, the container's shim " +
		"and the processes in the Pod, all on the same 2 cores. CPU time of each (from /proc and the Pod's cpuacct cgroup) during one " +
		"more round of each contender:\n\n")
	for _, dir := range []struct {
		what string
		cs   []Contender
	}{{"Upload", ups}, {"Download", downs}} {
		use, wall, err := b.cpuProfile(ctx, dir.cs)
		if err != nil {
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
		all[dir.what] = use
		var names []string
		for _, c := range dir.cs {
			names = append(names, c.Name)
		}
		fmt.Fprintf(&sb, "%s:\n\n%s\n", dir.what, cpuTable(names, use, wall))
	}
	b.res.addNote(Note{Bench: bench, Title: title, Text: sb.String()})
	return all, nil
}

// cpuSum is the total CPU of one contender in a cpuNote result, and the
// part spent in the Pod.
func cpuSum(use map[string]time.Duration) (total, pod time.Duration) {
	for _, d := range use {
		total += d
	}
	return total, use[cpuComponents[5]]
}

// explain sets the Why of the rows of bench whose metric starts with prefix.
func (b *bench) explain(bench, prefix, why string) {
	for i := range b.res.Rows {
		if r := &b.res.Rows[i]; r.Bench == bench && strings.HasPrefix(r.Metric, prefix) {
			r.Why = why
		}
	}
}

// transferProfile times the parts of a cscript transfer that the references
// do not do, in the same Pod, to say where the difference goes.
func (b *bench) transferProfile(ctx context.Context, p *payload, up, down []*Sample) error {
	const rounds = 3
	probe := &Sample{Name: "transfer.Probe (one exec round trip)"}
	install := &Sample{Name: "copying the agent into the Pod (once per Pod)"}
	localSHA := &Sample{Name: "Go crypto/sha256 of the local file"}
	agentSHA := &Sample{Name: "the agent's sha256 of the file in the Pod"}
	busyboxSHA := &Sample{Name: "busybox sha256sum of the file in the Pod"}
	tiny := filepath.Join(b.cfg.Work, "tiny.txt")
	if err := os.WriteFile(tiny, []byte("tiny\n"), 0o644); err != nil {
		return err
	}
	for range rounds {
		tools, err := transfer.Probe(ctx, b.pod)
		if err != nil {
			return err
		}
		t, err := timeFunc(func() error { _, err := transfer.Probe(ctx, b.pod); return err })
		if err != nil {
			return err
		}
		probe.Times = append(probe.Times, t.Wall)
		// The first upload with fresh Tools copies the agent in, the second
		// finds it there: the difference is the copy.
		opts := transfer.Options{Tools: tools, Agent: agentbin.For, AgentMinBytes: -1}
		var first, second *Timed
		for _, t := range []**Timed{&first, &second} {
			if *t, err = timeFunc(func() error {
				res, err := transfer.Upload(ctx, b.pod, transfer.LocalPath(tiny), transfer.RemotePath(remoteDataDir+"/tiny.txt"), opts)
				if err == nil && !res.Agent {
					err = fmt.Errorf("the agent did not install")
				}
				return err
			}); err != nil {
				return err
			}
		}
		install.Times = append(install.Times, first.Wall-second.Wall)
		t, err = timeFunc(func() error { return hashFile(p.local) })
		if err != nil {
			return err
		}
		localSHA.Times = append(localSHA.Times, t.Wall)
		t, err = timeFunc(func() error {
			_, err := b.sh(ctx, `for a in /tmp/.cscript-*/.cscript-agent-*; do "$a" sum "$1" >/dev/null; exit; done; exit 1`, p.remote)
			return err
		})
		if err != nil {
			return err
		}
		agentSHA.Times = append(agentSHA.Times, t.Wall)
		t, err = timeFunc(func() error { _, err := b.sh(ctx, `sha256sum "$1" >/dev/null`, p.remote); return err })
		if err != nil {
			return err
		}
		busyboxSHA.Times = append(busyboxSHA.Times, t.Wall)
	}
	b.res.addGroup(Group{Bench: "transfer", Title: fmt.Sprintf("Parts of a cscript transfer of %.0f MB, timed alone", float64(p.size)/1e6),
		Bytes: p.size, Samples: []*Sample{probe, install, localSHA, agentSHA, busyboxSHA}})

	var sb strings.Builder
	fmt.Fprintf(&sb, "Beyond the stream itself, cscript runs one probe exec (%s) and copies its agent (%.1f MB) into the Pod once per Pod "+
		"(%s on its own; the probe's exec carries it when the Pod has cscript's architecture), "+
		"and hashes every byte with sha256 on both sides while it streams: locally with Go's crypto/sha256 (%.0f MB/s, the CPU's SHA "+
		"instructions) and in the Pod with the agent (%.0f MB/s), where busybox's `sha256sum` manages %.0f MB/s. The agent also counts "+
		"what it read from stdin and writes each file once, so the Pod's side of a verified transfer costs about what `tar -x` costs "+
		"for kubectl cp.\n\n",
		fmtDur(probe.Median()), float64(len(agentbin.For(runtime.GOARCH)))/1e6, fmtDur(install.Median()),
		mbps(p.size, localSHA.Median()), mbps(p.size, agentSHA.Median()), mbps(p.size, busyboxSHA.Median()))
	for _, dir := range []struct {
		what    string
		samples []*Sample
	}{{"Upload", up}, {"Download", down}} {
		cs, raw, img := find(dir.samples, "cscript"), dir.samples[2], find(dir.samples, noAgentName)
		fmt.Fprintf(&sb, "- %s: cscript %s, the raw stream (kubectl, WebSocket) %s", dir.what, fmtDur(cs.Median()), fmtDur(raw.Median()))
		if img != nil {
			fmt.Fprintf(&sb, ", cscript with the image's own tools instead of the agent %s (%.0f MB/s)", fmtDur(img.Median()), mbps(p.size, img.Median()))
		}
		sb.WriteString(".\n")
	}
	sb.WriteString("\ncscript execs over SPDY, kubectl over WebSocket, which the API server translates frame by frame into SPDY for the " +
		"kubelet: the same bytes cost the API server less CPU over SPDY (see the CPU table). cscript also sends stdin in SPDY frames " +
		"of up to 1 MiB where client-go's executor sends 32 KiB, and its agent makes the Pod's stdin and stdout pipes 1 MiB deep " +
		"instead of 64 KiB: every frame and every pipe's worth costs the API server, the kubelet, containerd and the shim a few " +
		"system calls and wake-ups.\n")
	b.res.addNote(Note{Bench: "transfer", Title: "Where a verified transfer's time goes", Text: sb.String()})
	return nil
}

func hashFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(sha256.New(), f)
	return err
}

// compressed compares 500 MB of a compressible SQL dump with --compress
// against kubectl cp (and cscript without compression).
func (b *bench) compressed(ctx context.Context) error {
	p, err := b.payload(ctx, "dump.sql", sqlDump, b.cfg.Size)
	if err != nil {
		return err
	}
	n := b.cfg.NCompress
	ups, downs := b.uploaders(p, contenders{Compressed: true, Plain: true}), b.downloaders(p, contenders{Compressed: true, Plain: true})
	up, err := interleave(ctx, b.log, "upload dump", 0, n, ups...)
	if err != nil {
		return err
	}
	down, err := interleave(ctx, b.log, "download dump", 0, n, downs...)
	if err != nil {
		return err
	}
	b.lossNote("compress", up, down)
	use, err := b.cpuNote(ctx, "compress", "CPU used by each process during one more round", ups, downs)
	if err != nil {
		return err
	}
	mb := float64(p.size) / 1e6
	b.res.addGroup(Group{Bench: "compress", Title: fmt.Sprintf("Upload of a %.0f MB SQL dump", mb), Bytes: p.size, Samples: up})
	b.res.addGroup(Group{Bench: "compress", Title: fmt.Sprintf("Download of a %.0f MB SQL dump", mb), Bytes: p.size, Samples: down})
	for _, dir := range []struct {
		what    string
		samples []*Sample
	}{{"Upload", up}, {"Download", down}} {
		b.res.addRow(throughputRow("compress", fmt.Sprintf("%s %.0f MB SQL dump, --compress", dir.what, mb), p.size,
			find(dir.samples, "cscript --compress"), find(dir.samples, "kubectl cp"), 2))
	}

	// Where the time goes: S2 (what the agent and cscript compress with),
	// timed alone on this machine.
	const rounds = 3
	comp, zsize, err := goS2(p.local, rounds)
	if err != nil {
		return err
	}
	b.res.addGroup(Group{Bench: "compress", Title: fmt.Sprintf("S2 compression of the %.0f MB SQL dump alone", mb), Bytes: p.size, Samples: []*Sample{comp}})
	upCPU, upPod := cpuSum(use["Upload"]["cscript --compress"])
	downCPU, downPod := cpuSum(use["Download"]["cscript --compress"])
	kcUp, _ := cpuSum(use["Upload"]["kubectl cp"])
	kcDown, _ := cpuSum(use["Download"]["kubectl cp"])
	var sb strings.Builder
	fmt.Fprintf(&sb, "With --compress the agent and cscript speak S2 (klauspost/compress): frames of one 4 MiB block each, compressed "+
		"on two goroutines by cscript for an upload and on one per core (at most four) by the agent for a download, without S2's per-block CRC "+
		"(every file's sha256 is compared anyway). The dump shrinks %.1f× (%.0f MB → %.0f MB on the stream), and one encoder "+
		"compresses it at %.0f MB/s on this machine when nothing else runs. On loopback every component shares the same %d cores, so "+
		"throughput is a matter of CPU: one round used %.1f s (upload) and %.1f s (download) of CPU in all processes together, against "+
		"%.1f s and %.1f s for kubectl cp. Twice kubectl cp's throughput needs the whole transfer within %.1f s. The stream's share "+
		"does not shrink with its bytes alone: a stream that runs below the link's speed costs the API server, the kubelet and "+
		"containerd more per byte (they wake up for less data each time), which is why cscript sends stdin in 1 MiB frames and the "+
		"agent deepens its pipes. Where the network is the bottleneck (a remote cluster, well below the %s of this loopback stream) "+
		"--compress moves %.1f× fewer bytes.\n",
		float64(p.size)/float64(zsize), mb, float64(zsize)/1e6, mbps(p.size, comp.Median()), numCPU(),
		upCPU.Seconds(), downCPU.Seconds(), kcUp.Seconds(), kcDown.Seconds(),
		find(up, "kubectl cp").Median().Seconds()/2, b.rawRate(), float64(p.size)/float64(zsize))
	b.res.addNote(Note{Bench: "compress", Title: "What --compress costs on loopback", Text: sb.String()})
	b.explain("compress", "Upload", fmt.Sprintf("CPU: cscript --compress used %.1f s of CPU (%.1f s in the Pod: S2 decoding, sha256, writing the file) "+
		"on %d shared cores; the stream carries %.1f× fewer bytes, but on loopback bytes are cheap", upCPU.Seconds(), upPod.Seconds(), numCPU(), float64(p.size)/float64(zsize)))
	b.explain("compress", "Download", fmt.Sprintf("CPU: cscript --compress used %.1f s of CPU, %.1f s of it in the Pod (S2 at %.0f MB/s per core, sha256, reading the file), "+
		"on %d shared cores", downCPU.Seconds(), downPod.Seconds(), mbps(p.size, comp.Median()), numCPU()))
	return nil
}

// rawRate is the raw download stream's throughput from the transfer
// benchmark, as text, if it ran.
func (b *bench) rawRate() string {
	for _, g := range b.res.Groups {
		if g.Bench == "transfer" && strings.HasPrefix(g.Title, "Download") {
			if s := find(g.Samples, "kubectl exec … cat (raw)"); s != nil {
				return fmt.Sprintf("%.0f MB/s", mbps(g.Bytes, s.Median()))
			}
		}
	}
	return "several hundred MB/s"
}

// goS2 times the S2 stream of --compress over the file with one encoder,
// rounds times, and returns the compressed size.
func goS2(path string, rounds int) (*Sample, int64, error) {
	s := &Sample{Name: "S2 (4 MiB blocks, one encoder), local"}
	var size int64
	for range rounds {
		t, err := timeFunc(func() error {
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			cw := &countingWriter{}
			zw := transfer.CompressS2(cw, 1)
			if _, err := io.Copy(zw, f); err != nil {
				return err
			}
			err = zw.Close()
			size = cw.n
			return err
		})
		if err != nil {
			return nil, 0, err
		}
		s.Times = append(s.Times, t.Wall)
	}
	return s, size, nil
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

func numCPU() int { return runtime.NumCPU() }
