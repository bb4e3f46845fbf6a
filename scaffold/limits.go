package scaffold

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Templates are untrusted input, so a render is bounded in time and size.
// The defaults, in one place:
const (
	DefaultRenderTimeout  = 10 * time.Second // the whole render of one template
	DefaultRenderMaxFile  = 64 << 20         // bytes of one rendered file
	renderTotalPerFileCap = 4                // the total cap is this many times the per-file cap

	// Caps on what one template function may produce (repeat, until, seq,
	// indent, ...): realistic templates stay far below them, and they keep
	// one call from allocating gigabytes (which ends a Go program with a
	// runtime dump, not an error). They do not scale with Limits: no
	// template needs a single value this large.
	maxValueBytes = 16 << 20  // bytes of a string a function returns
	maxListLen    = 1 << 17   // elements of a list a function returns
	maxFuncBytes  = 512 << 20 // bytes all function calls of one template set return
)

// The environment variables cmd/paved reads to raise the limits; errors
// name them.
const (
	EnvRenderTimeout = "PAVED_RENDER_TIMEOUT" // a Go duration: 30s, 2m
	EnvRenderMax     = "PAVED_RENDER_MAX"     // bytes per file: 134217728, 128MiB, 1GiB
)

// Limits bound a render. A zero field takes its default.
type Limits struct {
	// Timeout bounds the time a template's whole evaluation takes: its
	// manifest's expressions (defaults, conditions, paths) and its files
	// together.
	Timeout time.Duration
	// MaxFile caps the bytes of one rendered (or copied) file.
	MaxFile int64
	// MaxTotal caps the bytes of all files of one render together; default
	// 4 × MaxFile. (What is read of a template is capped by ReadLimits;
	// cmd/paved sets both from the same PAVED_RENDER_MAX.)
	MaxTotal int64
}

// DefaultLimits are the limits when nothing raises them.
func DefaultLimits() Limits { return Limits{}.withDefaults() }

func (l Limits) withDefaults() Limits {
	if l.Timeout <= 0 {
		l.Timeout = DefaultRenderTimeout
	}
	if l.MaxFile <= 0 {
		l.MaxFile = DefaultRenderMaxFile
	}
	if l.MaxTotal <= 0 {
		l.MaxTotal = renderTotalPerFileCap * l.MaxFile
	}
	return l
}

// LimitsFromEnv reads EnvRenderTimeout and EnvRenderMax through getenv
// (os.Getenv in cmd/paved; the engine never reads the host environment).
func LimitsFromEnv(getenv func(string) string) (Limits, error) {
	var l Limits
	if v := getenv(EnvRenderTimeout); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return Limits{}, fmt.Errorf("%s=%q: want a positive duration such as 30s or 2m", EnvRenderTimeout, v)
		}
		l.Timeout = d
	}
	if v := getenv(EnvRenderMax); v != "" {
		n, err := parseSize(v)
		if err != nil {
			return Limits{}, fmt.Errorf("%s=%q: %w", EnvRenderMax, v, err)
		}
		l.MaxFile = n
	}
	return l.withDefaults(), nil
}

// parseSize reads a byte count: a number, optionally followed by KiB, MiB
// or GiB (or K, M, G, meaning the same).
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		shift  uint
	}{{"KiB", 10}, {"MiB", 20}, {"GiB", 30}, {"K", 10}, {"M", 20}, {"G", 30}, {"B", 0}}
	num, shift := strings.TrimSpace(s), uint(0)
	for _, u := range units {
		if rest, ok := strings.CutSuffix(num, u.suffix); ok {
			num, shift = strings.TrimSpace(rest), u.shift
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)>>shift {
		return 0, errors.New("want a positive size such as 134217728, 128MiB or 1GiB")
	}
	return n << shift, nil
}

// formatSize says a byte count the way people set it: 64 MiB, 1 GiB, 512 KiB.
func formatSize(n int64) string {
	for _, u := range []struct {
		name  string
		shift uint
	}{{"GiB", 30}, {"MiB", 20}, {"KiB", 10}} {
		if n >= 1<<u.shift && n%(1<<u.shift) == 0 {
			return fmt.Sprintf("%d %s", n>>u.shift, u.name)
		}
	}
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d bytes", n)
}

// errRenderTimeout is what runBounded returns when the deadline passes.
var errRenderTimeout = errors.New("render deadline passed")

// runBounded runs fn in a goroutine and returns when fn returns, ctx ends
// or the timeout passes, whichever comes first (errRenderTimeout for the
// timeout, ctx.Err() for ctx).
//
// text/template cannot be interrupted: `{{ range 100000000000000 }}{{ end }}`
// calls no function and writes nothing, so nothing inside it can notice a
// deadline. On the timeout or ctx's end fn's goroutine is therefore
// abandoned: it runs on until it ends by itself, its next write fails
// (limitWriter) or its next file is due (the ctx it gets is cancelled). A
// render writes nothing but memory, so an abandoned one has no effect but
// the CPU and memory it holds; a program should exit soon after such an
// error, as cmd/paved does.
func runBounded[T any](ctx context.Context, timeout time.Duration, fn func(ctx context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1) // buffered: an abandoned fn must not block on it
	go func() {
		v, err := fn(ctx)
		done <- result{v, err}
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var zero T
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		return zero, ctx.Err()
	case <-timer.C:
		return zero, errRenderTimeout
	}
}

// timeoutError is the one line a render that ran out of time ends with.
func timeoutError(name string, timeout time.Duration) error {
	msg := fmt.Sprintf("render took longer than %s (raise with %s)", timeout, EnvRenderTimeout)
	if name == "" {
		return errors.New(msg)
	}
	return fmt.Errorf("%s: %s", name, msg)
}

// sizeError is a file or a whole render over its cap.
type sizeError struct {
	limit int64
	total bool // the cap on all files together
}

func (e *sizeError) Error() string {
	if e.total {
		return fmt.Sprintf("render exceeded %s in total (raise with %s)", formatSize(e.limit), EnvRenderMax)
	}
	return fmt.Sprintf("render exceeded %s (raise with %s)", formatSize(e.limit), EnvRenderMax)
}

// errAbandoned stops the writes of a render nobody waits for any more.
var errAbandoned = errors.New("render abandoned")

// outputBudget counts the bytes of one render's files against the total cap.
type outputBudget struct {
	lim     Limits
	used    atomic.Int64
	stopped <-chan struct{} // closed when the render is abandoned
}

func newOutputBudget(lim Limits, stopped <-chan struct{}) *outputBudget {
	return &outputBudget{lim: lim, stopped: stopped}
}

// add counts a finished file of n bytes, rendered or copied as is.
func (b *outputBudget) add(name string, n int64) error {
	if n > b.lim.MaxFile {
		return fmt.Errorf("%s: %w", name, &sizeError{limit: b.lim.MaxFile})
	}
	if b.used.Add(n) > b.lim.MaxTotal {
		return fmt.Errorf("%s: %w", name, &sizeError{limit: b.lim.MaxTotal, total: true})
	}
	return nil
}

// limitWriter collects one rendered file and fails the write that would
// take it past the per-file cap, or the files before it and it past the
// total cap, so that template execution stops there: text/template returns
// a writer's error as is.
type limitWriter struct {
	buf    bytes.Buffer
	budget *outputBudget
}

func (w *limitWriter) Write(p []byte) (int, error) {
	select {
	case <-w.budget.stopped:
		return 0, errAbandoned
	default:
	}
	n := int64(w.buf.Len()) + int64(len(p))
	if n > w.budget.lim.MaxFile {
		return 0, &sizeError{limit: w.budget.lim.MaxFile}
	}
	if w.budget.used.Load()+n > w.budget.lim.MaxTotal {
		return 0, &sizeError{limit: w.budget.lim.MaxTotal, total: true}
	}
	return w.buf.Write(p)
}

// LimitFS returns fsys with reads capped by lim (a zero field: no cap): a
// regular file larger than lim.File, or one that takes the bytes of all
// files opened so far past lim.Total, fails to open, and so does reading a
// file past lim.File should it have grown since. Every name is counted
// once, however often it is opened. checkSizes refuses such a tree before
// anything is read; LimitFS holds the reads themselves to the same caps
// (a zip's entries say their size only as a header does).
func LimitFS(fsys fs.FS, lim ReadLimits) fs.FS {
	return &limitFS{fsys: fsys, lim: lim, seen: map[string]bool{}}
}

type limitFS struct {
	fsys fs.FS
	lim  ReadLimits

	mu    sync.Mutex
	seen  map[string]bool
	total int64
}

func (l *limitFS) Open(name string) (fs.File, error) {
	f, err := l.fsys.Open(name)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return f, nil // a directory keeps its ReadDir
	}
	if err := l.charge(name, fi.Size()); err != nil {
		f.Close()
		return nil, err
	}
	return &limitFile{File: f, info: fi, name: name, lim: l.lim}, nil
}

// charge counts name's size once against the caps.
func (l *limitFS) charge(name string, size int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen[name] {
		return l.lim.check(name, size, 0)
	}
	if err := l.lim.check(name, size, l.total+size); err != nil {
		return err
	}
	l.seen[name] = true
	l.total += size
	return nil
}

func (l *limitFS) ReadDir(name string) ([]fs.DirEntry, error) { return fs.ReadDir(l.fsys, name) }
func (l *limitFS) Stat(name string) (fs.FileInfo, error)      { return fs.Stat(l.fsys, name) }
func (l *limitFS) ReadLink(name string) (string, error)       { return fs.ReadLink(l.fsys, name) }
func (l *limitFS) Lstat(name string) (fs.FileInfo, error)     { return fs.Lstat(l.fsys, name) }

// limitFile is an open regular file that may not yield more than the
// per-file cap (if any), whatever its size said when it was opened.
type limitFile struct {
	fs.File
	info fs.FileInfo // taken at Open
	name string
	lim  ReadLimits
	read int64
}

// Stat says what Open found: a reader's Stat (fs.ReadFile's, the render's
// for the mode) need not ask the file system again.
func (f *limitFile) Stat() (fs.FileInfo, error) { return f.info, nil }

func (f *limitFile) Read(p []byte) (int, error) {
	if f.lim.File <= 0 {
		return f.File.Read(p)
	}
	if left := f.lim.File - f.read; int64(len(p)) > left {
		// One byte more than the cap tells a file at the cap from one beyond it.
		p = p[:left+1]
	}
	n, err := f.File.Read(p)
	f.read += int64(n)
	if f.read > f.lim.File {
		return 0, f.lim.check(f.name, f.read, 0)
	}
	return n, err
}
