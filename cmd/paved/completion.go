package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// completionCommands are paved's commands and their flags, for completion
// scripts. TestCompletionFlags keeps the table true to each command's -h.
var completionCommands = []struct {
	name  string
	flags []string
	dirs  bool // the arguments are directories
}{
	{"new", []string{"--answers", "--defaults", "--no-hooks", "--set", "--template", "--to", "--trust"}, true},
	{"update", []string{"--allow-dirty", "--allow-downgrade", "--defaults", "--dry-run", "--json", "--set", "--to", "--trust"}, true},
	{"diff", nil, true},
	{"check", []string{"--json"}, true},
	{"verify", []string{"--check", "--format", "--shellcheck"}, true},
	{"template", nil, true},
	{"templates", nil, false},
	{"completion", nil, false},
	{"version", nil, false},
	{"help", nil, false},
}

// cmdCompletion prints a completion script for bash, zsh or fish.
func cmdCompletion(args []string, stdout, stderr io.Writer) error {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: paved completion bash|zsh|fish\n\nPrint a shell completion script, e.g. source <(paved completion bash).")
		return &usageError{err: fmt.Errorf("completion takes one shell name")}
	}
	shell := args[0]
	var names []string
	for _, c := range completionCommands {
		names = append(names, c.name)
	}
	switch shell {
	case "bash":
		fmt.Fprint(stdout, bashCompletion(names))
	case "zsh":
		fmt.Fprint(stdout, "#compdef paved\nautoload -U +X bashcompinit && bashcompinit\n"+bashCompletion(names))
	case "fish":
		fmt.Fprint(stdout, fishCompletion())
	default:
		return fmt.Errorf("completion: unknown shell %q (want bash, zsh or fish)", shell)
	}
	return nil
}

func bashCompletion(names []string) string {
	var b strings.Builder
	b.WriteString("# paved completion for bash: source <(paved completion bash)\n_paved() {\n")
	b.WriteString("  local cur=${COMP_WORDS[COMP_CWORD]}\n")
	b.WriteString("  if [ \"$COMP_CWORD\" -eq 1 ]; then\n")
	fmt.Fprintf(&b, "    COMPREPLY=($(compgen -W %q -- \"$cur\")); return\n  fi\n", strings.Join(names, " "))
	b.WriteString("  case ${COMP_WORDS[1]} in\n")
	for _, c := range completionCommands {
		words := strings.Join(c.flags, " ")
		switch c.name {
		case "completion":
			words = "bash zsh fish"
		case "template":
			words = "list check test versions"
		}
		fmt.Fprintf(&b, "    %s) COMPREPLY=($(compgen -W %q -- \"$cur\")", c.name, words)
		if c.dirs {
			b.WriteString(" $(compgen -d -- \"$cur\")")
		}
		b.WriteString(");;\n")
	}
	b.WriteString("  esac\n}\ncomplete -o default -F _paved paved\n")
	return b.String()
}

func fishCompletion() string {
	var b strings.Builder
	b.WriteString("# paved completion for fish: paved completion fish | source\ncomplete -c paved -f\n")
	for _, c := range completionCommands {
		fmt.Fprintf(&b, "complete -c paved -n __fish_use_subcommand -a %s\n", c.name)
		for _, f := range slices.Sorted(slices.Values(c.flags)) {
			fmt.Fprintf(&b, "complete -c paved -n '__fish_seen_subcommand_from %s' -l %s\n", c.name, strings.TrimPrefix(f, "--"))
		}
		if c.dirs {
			fmt.Fprintf(&b, "complete -c paved -n '__fish_seen_subcommand_from %s' -a '(__fish_complete_directories)'\n", c.name)
		}
	}
	b.WriteString("complete -c paved -n '__fish_seen_subcommand_from completion' -a 'bash zsh fish'\n")
	b.WriteString("complete -c paved -n '__fish_seen_subcommand_from template' -a 'list check test versions'\n")
	return b.String()
}
