package scaffold

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
)

// LockFileName records, beside the answers file, what paved last rendered
// into the repository: a digest of every file, the answers it rendered
// with and the paved that rendered. `paved update` checks BASE against it,
// tells a hand-edited answer from the answers paved used, and, when BASE
// cannot be read at all, knows which files the team never touched.
//
// The format is text, one line per fact, sorted, deterministic:
//
//	# comment
//	paved-lock 1
//	paved v0.1.0
//	answers {"Name":"payments","Port":9090}
//	file 3a7b…e1 - README.md
//	file 55c0…9d 0b1f…22 go.sum
//
// A file line holds the digest of the rendered content, then "-" or the
// digest of the content the template's tasks left (go mod tidy may change
// go.sum), then the path, to the end of the line.
const LockFileName = ".paved-lock"

const lockHeader = "# Written by paved: what it last rendered here. paved update reads it; do not edit.\npaved-lock 1\n"

// Lock is the content of LockFileName.
type Lock struct {
	Paved   string         // the paved version that rendered (.Paved.Version)
	Answers map[string]any // the answers paved rendered with
	Files   map[string]LockEntry
}

// LockEntry is one file's digests.
type LockEntry struct {
	Rendered string // sha256 of what paved rendered
	Written  string // sha256 of what the tasks left, when they changed it
}

// fileDigest names a file's content; a link is named by its target.
func fileDigest(data []byte, mode fs.FileMode) string {
	h := sha256.New()
	if mode&fs.ModeSymlink != 0 {
		h.Write([]byte("link\x00"))
	}
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

// newLock records a rendered tree. Links' Data is their target, as in the
// merge; paved's own files are not part of it.
func newLock(files []File, answers map[string]any, pavedVersion string) *Lock {
	l := &Lock{Paved: pavedVersion, Answers: answers, Files: map[string]LockEntry{}}
	for _, f := range files {
		if f.Path == AnswersFileName || f.Path == LockFileName {
			continue
		}
		data := f.Data
		if f.Mode&fs.ModeSymlink != 0 {
			data = []byte(f.Link)
		}
		l.Files[f.Path] = LockEntry{Rendered: fileDigest(data, f.Mode)}
	}
	return l
}

// Matches reports whether content is what paved rendered or its tasks left.
func (e LockEntry) Matches(data []byte, mode fs.FileMode) bool {
	d := fileDigest(data, mode)
	return d == e.Rendered || e.Written != "" && d == e.Written
}

// Marshal writes the lock.
func (l *Lock) Marshal() ([]byte, error) {
	answers, err := json.Marshal(l.Answers)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(lockHeader)
	fmt.Fprintf(&b, "paved %s\n", l.Paved)
	fmt.Fprintf(&b, "answers %s\n", answers)
	for _, p := range slices.Sorted(maps.Keys(l.Files)) {
		e := l.Files[p]
		written := e.Written
		if written == "" {
			written = "-"
		}
		fmt.Fprintf(&b, "file %s %s %s\n", e.Rendered, written, p)
	}
	return b.Bytes(), nil
}

// ParseLock reads a lock file strictly: name:line: message on any error.
func ParseLock(name string, data []byte) (*Lock, error) {
	l := &Lock{Files: map[string]LockEntry{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	n, sawVersion := 0, false
	for sc.Scan() {
		n++
		line := sc.Text()
		bad := func(format string, args ...any) error {
			return fmt.Errorf("%s:%d: %s", name, n, fmt.Sprintf(format, args...))
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		word, rest, _ := strings.Cut(line, " ")
		switch word {
		case "paved-lock":
			if rest != "1" {
				return nil, bad("lock format %q, want 1 (a newer paved wrote it?)", rest)
			}
			sawVersion = true
		case "paved":
			l.Paved = rest
		case "answers":
			dec := json.NewDecoder(strings.NewReader(rest))
			if err := dec.Decode(&l.Answers); err != nil {
				return nil, bad("answers: %v", err)
			}
			l.Answers = normaliseAnswers(l.Answers)
		case "file":
			f := strings.SplitN(rest, " ", 3)
			if len(f) != 3 || !isDigest(f[0]) || f[1] != "-" && !isDigest(f[1]) {
				return nil, bad("want: file DIGEST DIGEST|- PATH")
			}
			if err := CheckPath(f[2]); err != nil {
				return nil, bad("%v", err)
			}
			e := LockEntry{Rendered: f[0]}
			if f[1] != "-" {
				e.Written = f[1]
			}
			l.Files[f[2]] = e
		default:
			return nil, bad("unknown line %q", word)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if !sawVersion {
		return nil, fmt.Errorf("%s: not a paved lock (no paved-lock line)", name)
	}
	return l, nil
}

func isDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// normaliseAnswers turns JSON's numbers back into the ints that answers hold.
func normaliseAnswers(m map[string]any) map[string]any {
	for k, v := range m {
		if f, ok := v.(float64); ok && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			m[k] = int(f)
		}
	}
	return m
}

// sameAnswer compares an answer as the answers file holds it with the one
// the lock recorded.
func sameAnswer(a, b any) bool {
	norm := func(v any) any {
		data, _ := json.Marshal(v)
		var out any
		_ = json.Unmarshal(data, &out)
		return out
	}
	return reflect.DeepEqual(norm(a), norm(b))
}
