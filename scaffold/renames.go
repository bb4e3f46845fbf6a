package scaffold

import (
	"context"
	"hash/fnv"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// Renames.
//
// A template that moves a file (docs/guide.md -> docs/user-guide.md) shows
// up as one path dropped and one added. Merged path by path, the team's
// edited old file would be kept and a fresh new one added beside it, the
// edit stranded. So, as git's rename detection does, a dropped path and an
// added path whose contents are similar enough are one file renamed: the
// team's copy is merged three ways (template's old file as base, the
// template's new file as theirs) into the new path and the old path goes.
//
// Similarity is git's (diffcore-rename with diffcore-delta, in spirit):
// each content is cut into chunks (a line, or 64 bytes of a longer line);
// the bytes the two contents have in common are, per distinct chunk, the
// smaller of the two byte counts; the score is that sum over the size of
// the larger content. A pair scoring 50% or more (git's default, -M50%) is
// a rename, exact matches first, then the best scores, each path in at most
// one pair. Only template paths are candidates, so the cost follows the
// template's size, not the repository's.

// renameThreshold is git's default minimum similarity for a rename.
const renameThreshold = 0.5

// renameLimit bounds the pairs scored, as git's diff.renameLimit does:
// beyond it only exact renames are found.
const renameLimit = 1000 * 1000

// detectRenames pairs paths base has and theirs lacks with paths theirs
// has and base lacks: old path -> new path.
func detectRenames(base, theirs map[string]File) map[string]string {
	var gone, added []string
	for p, f := range base {
		if _, ok := theirs[p]; !ok && renameCandidate(p, f) {
			gone = append(gone, p)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	for p, f := range theirs {
		if _, ok := base[p]; !ok && renameCandidate(p, f) {
			added = append(added, p)
		}
	}
	if len(added) == 0 {
		return nil
	}
	slices.Sort(gone)
	slices.Sort(added)

	type pair struct {
		from, to string
		score    float64
	}
	var pairs []pair
	exactOnly := len(gone)*len(added) > renameLimit
	chunks := map[string]map[uint64]int{}
	chunksOf := func(key string, data []byte) map[uint64]int {
		c, ok := chunks[key]
		if !ok {
			c = contentChunks(data)
			chunks[key] = c
		}
		return c
	}
	for _, from := range gone {
		src := base[from].Data
		for _, to := range added {
			dst := theirs[to].Data
			if string(src) == string(dst) {
				pairs = append(pairs, pair{from, to, 2}) // exact: before any other
				continue
			}
			if exactOnly || float64(min(len(src), len(dst))) < renameThreshold*float64(max(len(src), len(dst))) {
				continue // too different in size to reach the threshold
			}
			score := similarity(chunksOf("b"+from, src), chunksOf("t"+to, dst), len(src), len(dst))
			if score >= renameThreshold {
				pairs = append(pairs, pair{from, to, score})
			}
		}
	}
	// Best first; on a tie, a pair that keeps its file name, then by path.
	slices.SortStableFunc(pairs, func(a, b pair) int {
		if a.score != b.score {
			if a.score > b.score {
				return -1
			}
			return 1
		}
		sa, sb := path.Base(a.from) == path.Base(a.to), path.Base(b.from) == path.Base(b.to)
		if sa != sb {
			if sa {
				return -1
			}
			return 1
		}
		return strings.Compare(a.from+"\x00"+a.to, b.from+"\x00"+b.to)
	})
	renames := map[string]string{}
	taken := map[string]bool{}
	for _, p := range pairs {
		if _, done := renames[p.from]; done || taken[p.to] {
			continue
		}
		renames[p.from], taken[p.to] = p.to, true
	}
	return renames
}

// renameCandidate: regular, non-empty files other than paved's own (git,
// too, pairs no empty files by content).
func renameCandidate(p string, f File) bool {
	return p != AnswersFileName && f.Mode&fs.ModeSymlink == 0 && len(f.Data) > 0
}

// contentChunks counts the bytes of each distinct chunk: a line, cut
// every 64 bytes, as git's diffcore-delta hashes them.
func contentChunks(data []byte) map[uint64]int {
	counts := map[uint64]int{}
	for len(data) > 0 {
		n := 0
		for n < len(data) && n < 64 {
			n++
			if data[n-1] == '\n' {
				break
			}
		}
		h := fnv.New64a()
		h.Write(data[:n])
		counts[h.Sum64()] += n
		data = data[n:]
	}
	return counts
}

// similarity is the share of the larger content that both have.
func similarity(src, dst map[uint64]int, srcSize, dstSize int) float64 {
	common := 0
	for h, n := range src {
		common += min(n, dst[h])
	}
	return float64(common) / float64(max(srcSize, dstSize))
}

// renameChanges merges a rename the template made; nil means it is none for
// this tree: the team has a file of its own at the new path (both merge as
// any other path), or deleted the old one (it stays deleted, and the new
// path is not added).
func renameChanges(ctx context.Context, w *workTree, from, to string, base, theirs File, labels MergeLabels) ([]Change, error) {
	atNew, err := w.read(to)
	if err != nil || atNew != nil {
		return nil, err
	}
	ours, err := w.read(from)
	switch {
	case err != nil:
		return nil, err
	case ours == nil:
		return []Change{}, nil
	case ours.mode == fs.ModeDir:
		return nil, nil
	}
	return mergeRename(ctx, w, from, to, ours, base, theirs, labels)
}

// keepBlockedRenames keeps the old file of a rename whose new path the
// work tree blocks (settleTypeChanges made it a conflict): nothing of the
// team's is removed that was not written elsewhere.
func keepBlockedRenames(changes []Change) []Change {
	blocked := map[string]bool{}
	for i := range changes {
		if c := &changes[i]; c.From != "" && c.Action == ActionConflict {
			blocked[c.From] = true
			c.Why += "; the template renamed " + c.From + " to it, and " + c.From + " stays"
			c.From = ""
		}
	}
	if len(blocked) == 0 {
		return changes
	}
	return slices.DeleteFunc(changes, func(c Change) bool { return c.Action == ActionRemove && blocked[c.Path] })
}

// mergeRename merges the team's copy of a renamed file into its new path.
// ours is the team's file at the old path; the team has nothing at the new.
func mergeRename(ctx context.Context, w *workTree, from, to string, ours *workFile, base, theirs File, labels MergeLabels) ([]Change, error) {
	c, err := mergeFile(ctx, w, to, ours, base, true, theirs, true, labels)
	if err != nil {
		return nil, err
	}
	if c != nil && c.Action == ActionConflict {
		// The team's copy stays where it is, with the conflict, and the
		// template's new file arrives at the new path.
		c.Path = from
		c.Why += "; the template renamed it to " + to + ": resolve it, then move it over " + to
		return []Change{
			*c,
			{Path: to, Action: ActionAdd, Data: theirs.Data, Mode: theirs.Mode, Why: "renamed from " + from + " by the template"},
		}, nil
	}
	moved := Change{Path: to, Action: ActionRename, From: from, Data: ours.data, Mode: ours.mode, Why: "from " + from}
	if c != nil {
		moved.Data, moved.Mode = c.Data, c.Mode
		if c.Action == ActionMerge {
			moved.Why += ", your edits merged"
		}
	}
	return []Change{
		moved,
		{Path: from, Action: ActionRemove, Old: ours.data, Why: "renamed to " + to},
	}, nil
}
