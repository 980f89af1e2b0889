package main

import (
	"compress/gzip"
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

// uploaders returns the upload contenders for p: cscript's transfer.Upload
// (with or without compression), kubectl cp and, when raw, the bare exec
// stream. Each uploads to a fresh directory of the Pod.
func (b *bench) uploaders(p *payload, compress, withPlain, raw bool) []Contender {
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
	cs := func(name string, compress bool) Contender {
		var res *transfer.Result
		who := "cs"
		if compress {
			who = "csz"
		}
		return Contender{
			Name:    name,
			Prepare: fresh(who),
			Run: func(ctx context.Context, _ int) (*Timed, error) {
				return timeFunc(func() (err error) {
					res, err = transfer.Upload(ctx, b.pod, transfer.LocalPath(p.local), transfer.RemotePath(dest(who)+"/"+p.name), transfer.Options{Compress: compress, Agent: agentbin.For})
					return err
				})
			},
			Check: func(context.Context, int) error {
				if res.Verified != transfer.VerifiedSHA256 || res.SHA256 != p.sum || res.Compressed != compress || !res.Agent {
					return fmt.Errorf("upload result %+v, want sha256-verified %s by the agent, compressed %v", res, p.sum, compress)
				}
				return wantSize(res.Bytes, p.size, "cscript upload")
			},
		}
	}
	var out []Contender
	if compress {
		out = append(out, cs("cscript --compress", true))
	}
	if withPlain {
		out = append(out, cs("cscript", false))
	}
	out = append(out, Contender{
		Name:    "kubectl cp",
		Prepare: fresh("kc"),
		Run: func(ctx context.Context, _ int) (*Timed, error) {
			return timeCommand(ctx, b.kubectl("cp", "-c", transferCtr, p.local, b.cfg.Namespace+"/"+transferPod+":"+dest("kc")+"/"+p.name))
		},
		Check: checkRemote("kc"),
	})
	if raw {
		out = append(out, Contender{
			Name:    "kubectl exec -i … cat (raw)",
			Prepare: fresh("raw"),
			Run: func(ctx context.Context, _ int) (*Timed, error) {
				// "; true" keeps the shell alive until cat has read all of
				// stdin (FINDINGS.md: exec stdin loses data otherwise).
				c := b.kubectl("exec", "-i", "-n", b.cfg.Namespace, transferPod, "-c", transferCtr, "--", "sh", "-c", `cat > "$1"; true`, "sh", dest("raw")+"/"+p.name)
				c.Stdin = p.local
				return timeCommand(ctx, c)
			},
			Check: checkRemote("raw"),
		})
	}
	return out
}

// downloaders returns the download contenders for p, each writing to a
// fresh local directory.
func (b *bench) downloaders(p *payload, compress, withPlain, raw bool) []Contender {
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
	cs := func(name string, compress bool) Contender {
		var res *transfer.Result
		who := "cs"
		if compress {
			who = "csz"
		}
		return Contender{
			Name:    name,
			Prepare: fresh(who),
			Run: func(ctx context.Context, _ int) (*Timed, error) {
				return timeFunc(func() (err error) {
					res, err = transfer.Download(ctx, b.pod, transfer.RemotePath(p.remote), transfer.LocalPath(filepath.Join(dest(who), p.name)), transfer.Options{Compress: compress, Agent: agentbin.For})
					return err
				})
			},
			Check: func(ctx context.Context, i int) error {
				if res.Verified != transfer.VerifiedSHA256 || res.SHA256 != p.sum || res.Compressed != compress || !res.Agent {
					return fmt.Errorf("download result %+v, want sha256-verified %s by the agent, compressed %v", res, p.sum, compress)
				}
				return checkLocal(who)(ctx, i)
			},
		}
	}
	var out []Contender
	if compress {
		out = append(out, cs("cscript --compress", true))
	}
	if withPlain {
		out = append(out, cs("cscript", false))
	}
	out = append(out, Contender{
		Name:    "kubectl cp",
		Prepare: fresh("kc"),
		Run: func(ctx context.Context, _ int) (*Timed, error) {
			return timeCommand(ctx, b.kubectl("cp", "-c", transferCtr, b.cfg.Namespace+"/"+transferPod+":"+p.remote, filepath.Join(dest("kc"), p.name)))
		},
		Check: checkLocal("kc"),
	})
	if raw {
		out = append(out, Contender{
			Name:    "kubectl exec … cat (raw)",
			Prepare: fresh("raw"),
			Run: func(ctx context.Context, _ int) (*Timed, error) {
				c := b.kubectl("exec", "-n", b.cfg.Namespace, transferPod, "-c", transferCtr, "--", "cat", p.remote)
				c.Stdout = filepath.Join(dest("raw"), p.name)
				return timeCommand(ctx, c)
			},
			Check: checkLocal("raw"),
		})
	}
	return out
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
	ups, downs := b.uploaders(p, false, true, true), b.downloaders(p, false, true, true)
	up, err := interleave(ctx, b.log, "upload random", 0, n, ups...)
	if err != nil {
		return err
	}
	down, err := interleave(ctx, b.log, "download random", 0, n, downs...)
	if err != nil {
		return err
	}
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
	sha, err := b.transferProfile(ctx, p, up, down)
	if err != nil {
		return err
	}
	use, err := b.cpuNote(ctx, "transfer", "CPU used by each process during one more round", ups, downs)
	if err != nil {
		return err
	}
	for _, dir := range []string{"Upload", "Download"} {
		cs, pod := cpuSum(use[dir]["cscript"])
		kc, _ := cpuSum(use[dir]["kubectl cp"])
		what := "the sha256sum of the arrived file after the stream, and the stdin count (`tee` into `wc -c`)"
		if dir == "Download" {
			what = "the sha256sum of the source after `tar -c`"
		}
		head := "the verification runs in the Pod, after the stream"
		if cs > kc*3/2 {
			head = "CPU, not the stream"
		}
		b.explain("transfer", dir, fmt.Sprintf("%s: on the 2 shared cores cscript's %s used %.1f s of CPU in all processes "+
			"against %.1f s for kubectl cp; %.1f s of it ran in the Pod: busybox's verification, %s (busybox sha256sum alone: %s for the file)",
			head, strings.ToLower(dir), cs.Seconds(), kc.Seconds(), pod.Seconds(), what, fmtDur(sha)))
	}
	return nil
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
func (b *bench) transferProfile(ctx context.Context, p *payload, up, down []*Sample) (time.Duration, error) {
	const rounds = 3
	probe := &Sample{Name: "transfer.Probe (one exec round trip)"}
	remoteSHA := &Sample{Name: "busybox sha256sum in the Pod"}
	remoteTar := &Sample{Name: "busybox tar -c > /dev/null in the Pod"}
	localSHA := &Sample{Name: "Go crypto/sha256 of the local file"}
	// The upload's remote pipeline, stage by stage (reading the file from
	// the Pod's page cache instead of the exec stream).
	stages := []struct {
		sample *Sample
		script string
	}{
		{&Sample{Name: "busybox cat FILE | cat > /dev/null (a pipe, the floor)"}, `cat "$1" | cat >/dev/null`},
		{&Sample{Name: "busybox cat FILE | wc -c (the stdin count)"}, `cat "$1" | wc -c >/dev/null`},
		{&Sample{Name: "busybox { cat FILE | tee /dev/fd/5 | cat >/dev/null; } 5>&1 | wc -c"}, `{ cat "$1" | tee /dev/fd/5 | cat >/dev/null; } 5>&1 | wc -c >/dev/null`},
		{&Sample{Name: "busybox cat TAR | tar -x (the file, extracted)"}, `rm -rf /data/x && mkdir /data/x && cat /data/t.tar | tar -xf - -C /data/x`},
	}
	if _, err := b.sh(ctx, `tar -cf /data/t.tar -C "$(dirname "$1")" "$(basename "$1")"`, p.remote); err != nil {
		return 0, err
	}
	defer b.sh(context.WithoutCancel(ctx), `rm -rf /data/x /data/t.tar`)
	for range rounds {
		t, err := timeFunc(func() error { _, err := transfer.Probe(ctx, b.pod); return err })
		if err != nil {
			return 0, err
		}
		probe.Times = append(probe.Times, t.Wall)
		t, err = timeFunc(func() error { _, err := b.sh(ctx, `sha256sum "$1" >/dev/null`, p.remote); return err })
		if err != nil {
			return 0, err
		}
		remoteSHA.Times = append(remoteSHA.Times, t.Wall)
		t, err = timeFunc(func() error {
			_, err := b.sh(ctx, `cd "$(dirname "$1")" && tar -cf - "./$(basename "$1")" >/dev/null`, p.remote)
			return err
		})
		if err != nil {
			return 0, err
		}
		remoteTar.Times = append(remoteTar.Times, t.Wall)
		t, err = timeFunc(func() error { return hashFile(p.local) })
		if err != nil {
			return 0, err
		}
		localSHA.Times = append(localSHA.Times, t.Wall)
		for _, st := range stages {
			t, err := timeFunc(func() error { _, err := b.sh(ctx, st.script, p.remote); return err })
			if err != nil {
				return 0, err
			}
			st.sample.Times = append(st.sample.Times, t.Wall)
		}
	}
	parts := []*Sample{probe, remoteSHA, remoteTar, localSHA}
	for _, st := range stages {
		parts = append(parts, st.sample)
	}
	b.res.addGroup(Group{Bench: "transfer", Title: fmt.Sprintf("Parts of a cscript transfer of %.0f MB, timed alone", float64(p.size)/1e6), Bytes: p.size, Samples: parts})

	var sb strings.Builder
	upCS, upRaw := find(up, "cscript").Median(), up[2].Median()
	downCS, downRaw := find(down, "cscript").Median(), down[2].Median()
	fmt.Fprintf(&sb, "cscript does three things the references do not: one probe exec before the transfer (%s), "+
		"a sha256 of every byte on the local side while streaming (Go: %s for the whole file, overlapped with the stream), "+
		"and a `sha256sum` of the file in the container, which runs after the stream because it reads the file that tar "+
		"wrote or is about to send (busybox: %s, %.0f MB/s). An upload also counts the bytes the container read from stdin: the Pod's "+
		"shell pipes stdin through `tee` into `tar -x` and `wc -c`, two more copies of every byte inside the Pod.\n\n",
		fmtDur(probe.Median()), fmtDur(localSHA.Median()), fmtDur(remoteSHA.Median()), mbps(p.size, remoteSHA.Median()))
	fmt.Fprintf(&sb, "- Upload: cscript %s vs the raw stream %s: %s more; probe + remote sha256sum account for %s of it.\n",
		fmtDur(upCS), fmtDur(upRaw), fmtDur(upCS-upRaw), fmtDur(probe.Median()+remoteSHA.Median()))
	fmt.Fprintf(&sb, "- Download: cscript %s vs the raw stream %s: %s more; probe + remote sha256sum account for %s of it.\n",
		fmtDur(downCS), fmtDur(downRaw), fmtDur(downCS-downRaw), fmtDur(probe.Median()+remoteSHA.Median()))
	fmt.Fprintf(&sb, "- Without the remote sha256sum (a size-only check, as the report's `wc -c`) cscript would take about %s up and %s down, "+
		"i.e. %.2f× and %.2f× the raw stream's throughput.\n",
		fmtDur(upCS-remoteSHA.Median()), fmtDur(downCS-remoteSHA.Median()),
		upRaw.Seconds()/(upCS-remoteSHA.Median()).Seconds(), downRaw.Seconds()/(downCS-remoteSHA.Median()).Seconds())
	fmt.Fprintf(&sb, "- In the Pod, for the same file read from its page cache (no exec stream): a plain pipe takes %s, the pipe into `wc -c` %s, "+
		"the upload's counting pipeline (`tee` into `wc -c` beside the reader) %s, `tar -x` from a pipe %s and `sha256sum` %s. "+
		"These run on the same 2 cores as the stream itself.\n",
		fmtDur(stages[0].sample.Median()), fmtDur(stages[1].sample.Median()), fmtDur(stages[2].sample.Median()),
		fmtDur(stages[3].sample.Median()), fmtDur(remoteSHA.Median()))
	b.res.addNote(Note{Bench: "transfer", Title: "Where a verified transfer's time goes", Text: sb.String()})
	return remoteSHA.Median(), nil
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
	ups, downs := b.uploaders(p, true, true, false), b.downloaders(p, true, true, false)
	up, err := interleave(ctx, b.log, "upload dump", 0, n, ups...)
	if err != nil {
		return err
	}
	down, err := interleave(ctx, b.log, "download dump", 0, n, downs...)
	if err != nil {
		return err
	}
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

	// Where the time goes: gzip and gunzip in busybox, and Go's gzip.
	const rounds = 3
	gz := &Sample{Name: "busybox gzip -c > /dev/null in the Pod"}
	gunz := &Sample{Name: "busybox gzip -dc > /dev/null in the Pod"}
	var gzSize int64
	if _, err := b.sh(ctx, `gzip -c "$1" > "$1.gz"`, p.remote); err != nil {
		return err
	}
	if gzSize, err = b.remoteSize(ctx, p.remote+".gz"); err != nil {
		return err
	}
	for range rounds {
		t, err := timeFunc(func() error { _, err := b.sh(ctx, `gzip -c "$1" >/dev/null`, p.remote); return err })
		if err != nil {
			return err
		}
		gz.Times = append(gz.Times, t.Wall)
		t, err = timeFunc(func() error { _, err := b.sh(ctx, `gzip -dc "$1.gz" >/dev/null`, p.remote); return err })
		if err != nil {
			return err
		}
		gunz.Times = append(gunz.Times, t.Wall)
	}
	if _, err := b.sh(ctx, `rm -f "$1.gz"`, p.remote); err != nil {
		return err
	}
	goGz, err := goGzip(p.local, rounds)
	if err != nil {
		return err
	}
	b.res.addGroup(Group{Bench: "compress", Title: fmt.Sprintf("gzip of the %.0f MB SQL dump alone", mb), Bytes: p.size, Samples: []*Sample{gz, gunz, goGz}})

	var sb strings.Builder
	fmt.Fprintf(&sb, "The dump compresses %.1f× (gzip -6: %.0f MB → %.0f MB). On loopback the stream is not the bottleneck: "+
		"the raw exec stream moves random data at %s, while gzip is CPU-bound: busybox gzip compresses at %.0f MB/s and "+
		"decompresses at %.0f MB/s in the Pod (a download runs busybox `tar -cz`), Go's compress/gzip at BestSpeed (what an upload "+
		"uses) compresses at %.0f MB/s, "+
		"on a machine of %d cores shared by the kubelet, the API server and both ends of the stream. "+
		"Compression can only pay where the network is slower than gzip: below about %.0f MB/s (a remote cluster), "+
		"--compress moves %.1f× fewer bytes.\n",
		float64(p.size)/float64(gzSize), mb, float64(gzSize)/1e6, b.rawRate(),
		mbps(p.size, gz.Median()), mbps(p.size, gunz.Median()), mbps(p.size, goGz.Median()), numCPU(),
		min(mbps(p.size, gz.Median()), mbps(p.size, goGz.Median())), float64(p.size)/float64(gzSize))
	b.res.addNote(Note{Bench: "compress", Title: "Why compression does not pay on loopback", Text: sb.String()})
	upCPU, upPod := cpuSum(use["Upload"]["cscript --compress"])
	downCPU, downPod := cpuSum(use["Download"]["cscript --compress"])
	b.explain("compress", "Upload", fmt.Sprintf("on loopback the exec stream (%s) is faster than gzip, so compression cannot win time here; "+
		"cscript --compress used %.1f s of CPU (%.1f s in the Pod: gunzip, tar, the same verification as without compression) on 2 shared cores",
		b.rawRate(), upCPU.Seconds(), upPod.Seconds()))
	b.explain("compress", "Download", fmt.Sprintf("busybox gzip in the Pod compresses at %.0f MB/s, slower than the loopback exec stream (%s); "+
		"cscript --compress used %.1f s of CPU, %.1f s of it in the Pod (gzip, then sha256sum)",
		mbps(p.size, gz.Median()), b.rawRate(), downCPU.Seconds(), downPod.Seconds()))
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

// goGzip times Go's gzip at BestSpeed (what transfer.Upload uses) over the
// file, rounds times.
func goGzip(path string, rounds int) (*Sample, error) {
	s := &Sample{Name: "Go compress/gzip BestSpeed, local"}
	for range rounds {
		t, err := timeFunc(func() error {
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			zw, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
			if _, err := io.Copy(zw, f); err != nil {
				return err
			}
			return zw.Close()
		})
		if err != nil {
			return nil, err
		}
		s.Times = append(s.Times, t.Wall)
	}
	return s, nil
}

func numCPU() int { return runtime.NumCPU() }
