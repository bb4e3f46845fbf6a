package scaffold

import (
	"fmt"
	"strings"
)

// outputPath applies rename and renders the path's segments. A segment that
// renders empty drops the file.
func (r *renderer) outputPath(name string) (string, bool, error) {
	out := name
	best := ""
	for from := range r.m.Rename {
		if (name == from || strings.HasPrefix(name, from+"/")) && len(from) > len(best) {
			best = from
		}
	}
	if best != "" {
		out = r.m.Rename[best] + strings.TrimPrefix(name, best)
	}
	if strings.HasPrefix(out, "/") {
		return "", false, fmt.Errorf("%s: %w", name, &PathError{Path: out, Rule: "absolute path (from rename)"})
	}
	if strings.Contains(out, r.m.Delims[0]) {
		rendered, keep, err := r.renderPath(name, out)
		if err != nil || !keep {
			return "", false, err
		}
		out = rendered
	}
	if err := CheckPath(out); err != nil {
		return "", false, fmt.Errorf("%s: %w", name, err)
	}
	return out, true, nil
}

// renderPath renders a path's segments one by one where the template's
// actions allow it (no action spans a "/"), so that an answer can neither
// drop a file by accident nor turn a segment into an absolute path: a
// segment that renders empty drops the file; one that renders with a
// leading or trailing "/" is an error. A path whose actions span segments
// is rendered whole, and an empty segment in it drops the file.
func (r *renderer) renderPath(name, p string) (string, bool, error) {
	segs, ok := splitOutsideActions(p, r.m.Delims)
	if !ok {
		rendered, err := r.expand("path "+name, p)
		if err != nil {
			return "", false, err
		}
		for seg := range strings.SplitSeq(rendered, "/") {
			if seg == "" {
				return "", false, nil
			}
		}
		return rendered, true, nil
	}
	out := make([]string, 0, len(segs))
	for _, seg := range segs {
		if strings.Contains(seg, r.m.Delims[0]) {
			rendered, err := r.expand("path "+name, seg)
			if err != nil {
				return "", false, err
			}
			if rendered == "" {
				return "", false, nil
			}
			if strings.HasPrefix(rendered, "/") || strings.HasSuffix(rendered, "/") {
				return "", false, fmt.Errorf("%s: %w", name, &PathError{Path: rendered, Rule: "a path segment renders with a leading or trailing / (an absolute path from an answer?)"})
			}
			seg = rendered
		}
		out = append(out, seg)
	}
	return strings.Join(out, "/"), true, nil
}

// splitOutsideActions splits a path at the slashes outside template
// actions; ok is false when an action is unclosed or a segment holds only
// part of a control structure (an if or range that spans a "/").
func splitOutsideActions(p string, delims [2]string) (segs []string, ok bool) {
	start, depth := 0, 0
	for i := 0; i < len(p); {
		switch {
		case strings.HasPrefix(p[i:], delims[0]):
			end := strings.Index(p[i+len(delims[0]):], delims[1])
			if end < 0 {
				return nil, false
			}
			action := strings.TrimSpace(strings.Trim(p[i+len(delims[0]):i+len(delims[0])+end], "-"))
			switch word, _, _ := strings.Cut(action, " "); word {
			case "if", "range", "with", "block", "define":
				depth++
			case "end":
				depth--
			}
			i += len(delims[0]) + end + len(delims[1])
		case p[i] == '/':
			if depth != 0 {
				return nil, false
			}
			segs = append(segs, p[start:i])
			start = i + 1
			i++
		default:
			i++
		}
	}
	if depth != 0 {
		return nil, false
	}
	return append(segs, p[start:]), true
}
