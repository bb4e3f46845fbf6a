package scaffold

import (
	"context"
	"fmt"
	"maps"
	"slices"
)

// checkAnswers reads the answers file against the template: every answer
// names a question some version asked (the recorded one, the target, or
// the lock's), answers to questions the target dropped are dropped with a
// note, and an answer edited by hand since paved last rendered is an
// answer change: BASE renders with what paved used (the lock's answers),
// the target with the edited ones.
type checkAnswers struct{}

func (checkAnswers) String() string { return "check the answers" }

func (checkAnswers) Run(_ context.Context, u *updateRun) error {
	var err error
	if u.targetM, err = ReadManifest(u.target.FS); err != nil {
		return fmt.Errorf("%s %s: %w", u.af.Template, u.res.To, err)
	}
	var locked map[string]any
	if u.lock != nil {
		locked = u.lock.Answers
	}
	asked := func(m *Manifest, name string) bool { return m != nil && m.question(name) != nil }
	for _, name := range slices.Sorted(maps.Keys(u.af.Answers)) {
		_, wasLocked := locked[name]
		switch {
		case asked(u.targetM, name):
		case asked(u.baseM, name) || wasLocked:
			u.res.Dropped = append(u.res.Dropped, name)
		default:
			return fmt.Errorf("%s: answer %s: no version of the template asks it%s", AnswersFileName, name, nearestQuestion(name, u.targetM, u.baseM))
		}
	}
	u.baseAnswers = u.af.Answers
	if u.lock == nil {
		return nil
	}
	u.baseAnswers = locked
	for _, name := range slices.Sorted(maps.Keys(u.af.Answers)) {
		if v, ok := locked[name]; !ok || !sameAnswer(v, u.af.Answers[name]) {
			u.res.Edited = append(u.res.Edited, name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(locked)) {
		if _, ok := u.af.Answers[name]; !ok {
			u.res.Edited = append(u.res.Edited, name)
		}
	}
	return nil
}

// nearestQuestion suggests the question a mistyped answer meant.
func nearestQuestion(name string, manifests ...*Manifest) string {
	best, bestDist := "", 4
	for _, m := range manifests {
		if m == nil {
			continue
		}
		for _, q := range m.Questions {
			if d := editDistance(name, q.Name); d < bestDist {
				best, bestDist = q.Name, d
			}
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", best)
}

// editDistance is the Levenshtein distance, with a swap of two neighbours
// counted once (Prot for Port).
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range rb {
		d[0][j+1] = j + 1
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
