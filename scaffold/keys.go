package scaffold

import (
	"maps"
	"slices"
)

// unionKeys is every key of a or b, once each, sorted.
func unionKeys[V, W any](a map[string]V, b map[string]W) []string {
	keys := slices.Collect(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}
