//go:build unix

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Every byte of a transfer crosses several processes on this one machine:
// the client (cscript or kubectl), the API server, the kubelet, containerd's
// CRI stream server, the container's shim and the processes in the Pod.
// cpuMeter reads how much CPU each of them used, to say where a transfer's
// time goes when the two cores are the limit.
type cpuMeter struct {
	podCgroup string         // cpuacct directory of the transfer Pod
	pids      map[string]int // cluster components by name
}

const clockTicks = 100 // USER_HZ on Linux

// Component names, in the order of the report.
var cpuComponents = []string{"client (cscript or kubectl)", "kube-apiserver", "kubelet", "containerd", "containerd shims", "processes in the Pod"}

func (b *bench) cpuMeter(ctx context.Context) (*cpuMeter, error) {
	pod, err := b.target.Client.CoreV1().Pods(b.cfg.Namespace).Get(ctx, transferPod, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	m := &cpuMeter{pids: map[string]int{}}
	for _, pattern := range []string{"/sys/fs/cgroup/cpuacct/kubepods/*/pod%s", "/sys/fs/cgroup/cpuacct/kubepods/pod%s", "/sys/fs/cgroup/cpu,cpuacct/kubepods/*/pod%s"} {
		if dirs, _ := filepath.Glob(fmt.Sprintf(pattern, pod.UID)); len(dirs) == 1 {
			m.podCgroup = dirs[0]
			break
		}
	}
	state := os.Getenv("CSCRIPT_CLUSTER_STATE")
	if state == "" {
		state = "/var/lib/cscript-cluster"
	}
	for _, c := range []string{"kube-apiserver", "kubelet", "containerd"} {
		if data, err := os.ReadFile(filepath.Join(state, "pids", c+".pid")); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil {
				m.pids[c] = pid
			}
		}
	}
	return m, nil
}

// snapshot is the CPU time used so far by each component (the client's is
// this process's own; a kubectl child's is added from its rusage).
func (m *cpuMeter) snapshot() map[string]time.Duration {
	s := map[string]time.Duration{}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s[cpuComponents[0]] = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	for name, pid := range m.pids {
		s[name] = procCPU(pid)
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.HasPrefix(string(comm), "containerd-shim") {
			s[cpuComponents[4]] += procCPU(pid)
		}
	}
	if m.podCgroup != "" {
		if data, err := os.ReadFile(filepath.Join(m.podCgroup, "cpuacct.usage")); err == nil {
			if ns, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64); err == nil {
				s[cpuComponents[5]] = time.Duration(ns)
			}
		}
	}
	return s
}

// procCPU is the user+system time of a process (all its threads).
func procCPU(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / clockTicks
}

// cpuProfile runs each contender once more (after its Prepare) and returns
// the CPU each component used during that round, and the round's wall time.
func (b *bench) cpuProfile(ctx context.Context, cs []Contender) (map[string]map[string]time.Duration, map[string]time.Duration, error) {
	m, err := b.cpuMeter(ctx)
	if err != nil {
		return nil, nil, err
	}
	use := map[string]map[string]time.Duration{}
	wall := map[string]time.Duration{}
	for _, c := range cs {
		if c.Prepare != nil {
			if err := c.Prepare(ctx, 0); err != nil {
				return nil, nil, err
			}
		}
		before := m.snapshot()
		t, err := c.Run(ctx, 0)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", c.Name, err)
		}
		after := m.snapshot()
		d := map[string]time.Duration{}
		for _, k := range cpuComponents {
			d[k] = after[k] - before[k]
		}
		d[cpuComponents[0]] += t.CPU
		use[c.Name] = d
		wall[c.Name] = t.Wall
	}
	return use, wall, nil
}

// cpuTable formats a cpuProfile as a markdown table, one column per contender.
func cpuTable(names []string, use map[string]map[string]time.Duration, wall map[string]time.Duration) string {
	var sb strings.Builder
	sb.WriteString("| CPU time | " + strings.Join(names, " | ") + " |\n|---|" + strings.Repeat("---|", len(names)) + "\n")
	total := map[string]time.Duration{}
	for _, k := range cpuComponents {
		sb.WriteString("| " + k + " |")
		for _, n := range names {
			fmt.Fprintf(&sb, " %.2f s |", use[n][k].Seconds())
			total[n] += use[n][k]
		}
		sb.WriteString("\n")
	}
	sb.WriteString("| **total CPU** |")
	for _, n := range names {
		fmt.Fprintf(&sb, " **%.2f s** |", total[n].Seconds())
	}
	sb.WriteString("\n| wall time of that round |")
	for _, n := range names {
		fmt.Fprintf(&sb, " %.2f s |", wall[n].Seconds())
	}
	sb.WriteString("\n")
	return sb.String()
}
