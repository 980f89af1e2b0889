//go:build unix

package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
)

// dataFile makes sure path holds size bytes made by gen (regenerating it when
// it is missing or of another size, so repeated runs reuse it) and returns
// its sha256, kept next to it in path.sha256.
func dataFile(path string, size int64, gen func(w io.Writer, size int64) error) (string, error) {
	sumPath := path + ".sha256"
	if fi, err := os.Stat(path); err == nil && fi.Size() == size {
		if sum, err := os.ReadFile(sumPath); err == nil && len(strings.TrimSpace(string(sum))) == 64 {
			return strings.TrimSpace(string(sum)), nil
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(f, h), 1<<20)
	if err := gen(&exactly{w: bw, left: size}, size); err != nil {
		f.Close()
		return "", fmt.Errorf("generate %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != size {
		return "", fmt.Errorf("generate %s: wrong size", path)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	return sum, os.WriteFile(sumPath, []byte(sum+"\n"), 0o644)
}

// exactly passes on the first left bytes written to it, then returns
// errFull, which the generators stop on.
type exactly struct {
	w    io.Writer
	left int64
}

var errFull = fmt.Errorf("full")

func (e *exactly) Write(p []byte) (int, error) {
	if e.left <= 0 {
		return 0, errFull
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.w.Write(p)
	e.left -= int64(n)
	if err == nil && e.left == 0 {
		err = errFull
	}
	return n, err
}

// randomData writes incompressible bytes (a seeded ChaCha8 stream, the same
// on every run).
func randomData(w io.Writer, size int64) error {
	rng := rand.NewChaCha8([32]byte{'c', 's', 'c', 'r', 'i', 'p', 't'})
	buf := make([]byte, 1<<20)
	for {
		_, _ = rng.Read(buf)
		if _, err := w.Write(buf); err != nil {
			if err == errFull {
				return nil
			}
			return err
		}
	}
}

var (
	statuses = []string{"pending", "paid", "shipped", "delivered", "refunded", "cancelled"}
	notes    = []string{
		`\N`, "gift wrap", "leave at the door", "call before delivery", "second attempt",
		"customer asked for an invoice", "express", "fragile: glassware", "back-ordered item replaced",
		"address corrected by support", "pick up at the depot", "split shipment",
	}
	cities = []string{"Amsterdam", "Berlin", "Lisbon", "Madrid", "Oslo", "Paris", "Prague", "Rome", "Vienna", "Warsaw"}
)

// sqlDump writes something shaped like `pg_dump` output of an orders table:
// a header, then COPY rows with sequential ids, random amounts, dates,
// e-mail addresses and a few repeating strings. gzip -6 shrinks it about 4×.
func sqlDump(w io.Writer, size int64) error {
	rng := rand.New(rand.NewPCG(7, 11))
	head := "--\n-- PostgreSQL database dump\n--\n\nSET statement_timeout = 0;\nSET client_encoding = 'UTF8';\n\n" +
		"CREATE TABLE public.orders (\n    id bigint NOT NULL,\n    customer_id integer NOT NULL,\n    status text NOT NULL,\n" +
		"    amount numeric(12,2) NOT NULL,\n    created_at timestamp with time zone NOT NULL,\n    email text NOT NULL,\n" +
		"    city text NOT NULL,\n    note text\n);\n\nCOPY public.orders (id, customer_id, status, amount, created_at, email, city, note) FROM stdin;\n"
	if _, err := io.WriteString(w, head); err != nil {
		if err == errFull {
			return nil
		}
		return err
	}
	line := make([]byte, 0, 256)
	for id := int64(1); ; id++ {
		line = line[:0]
		cust := rng.IntN(200000) + 1
		line = strconv.AppendInt(line, id, 10)
		line = append(line, '\t')
		line = strconv.AppendInt(line, int64(cust), 10)
		line = append(line, '\t')
		line = append(line, statuses[rng.IntN(len(statuses))]...)
		line = append(line, '\t')
		cents := rng.IntN(5000000)
		line = strconv.AppendInt(line, int64(cents/100), 10)
		line = append(line, '.')
		if c := cents % 100; c < 10 {
			line = append(line, '0')
		}
		line = strconv.AppendInt(line, int64(cents%100), 10)
		line = append(line, '\t')
		line = fmt.Appendf(line, "2024-%02d-%02d %02d:%02d:%02d+00", rng.IntN(12)+1, rng.IntN(28)+1, rng.IntN(24), rng.IntN(60), rng.IntN(60))
		line = append(line, "\tcustomer"...)
		line = strconv.AppendInt(line, int64(cust), 10)
		line = append(line, "@example.com\t"...)
		line = append(line, cities[rng.IntN(len(cities))]...)
		line = append(line, '\t')
		line = append(line, notes[rng.IntN(len(notes))]...)
		line = append(line, '\n')
		if _, err := w.Write(line); err != nil {
			if err == errFull {
				return nil
			}
			return err
		}
	}
}
