package scaffold

import (
	"regexp"
	"sync"
)

// lazyRegexp compiles pattern on first use. Package-level patterns compiled
// at start-up cost every run of paved, even `paved version`, which uses none
// of them.
func lazyRegexp(pattern string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(pattern) })
}
