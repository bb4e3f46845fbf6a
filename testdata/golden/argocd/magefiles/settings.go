//go:build mage

package main

// defaultCoverMin is the minimum statement coverage, in percent, that
// `mage cover` accepts when COVER_MIN is not set.
const defaultCoverMin = 85
