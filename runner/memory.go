package runner

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// MemoryLimit is the script's memory limit in bytes (0: none), parsed from
// Resources.Limits["memory"].
func (s Spec) MemoryLimit() (int64, error) {
	q, ok := s.Resources.Limits["memory"]
	if !ok || q == "" {
		return 0, nil
	}
	return ParseBytes(q)
}

// quantity suffixes of Kubernetes, for byte amounts.
var suffixes = []struct {
	s string
	m float64
}{
	{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40}, {"Pi", 1 << 50}, {"Ei", 1 << 60},
	{"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}, {"P", 1e15}, {"E", 1e18},
}

// ParseBytes reads a Kubernetes quantity of bytes ("256Mi", "1G", "1.5Gi",
// "1048576", "1e9"), rounded up to a whole byte, as Kubernetes does for
// memory.
func ParseBytes(q string) (int64, error) {
	num, mult := strings.TrimSpace(q), 1.0
	for _, sf := range suffixes {
		if n, ok := strings.CutSuffix(num, sf.s); ok {
			num, mult = n, sf.m
			break
		}
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) || strings.ContainsAny(num, "xXpP_") {
		return 0, fmt.Errorf("memory %q is not a quantity of bytes (e.g. 256Mi, 1Gi)", q)
	}
	b := math.Ceil(v * mult)
	if b > math.MaxInt64 {
		return 0, fmt.Errorf("memory %q is too large", q)
	}
	return int64(b), nil
}
