package main

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/steward-nhi/steward"
)

// enumUsage matches a flag's usage that lists its closed set of values:
// "a, b or c", optionally after a "label: " and before a parenthesis, or
// "a|b|c".
var (
	enumOr   = regexp.MustCompile(`^(?:[a-z ]+: )?([a-z0-9_:.-]+(?:, [a-z0-9_:.-]+)* or [a-z0-9_:.-]+)(?: \(.*\))?$`)
	enumPipe = regexp.MustCompile(`^(?:[a-z ]+: )?([a-z0-9_:.-]+(?:\|[a-z0-9_:.-]+)+)$`)
)

// enumsByName gives the values of flags whose usage does not list them,
// by the flag's name and the command group it belongs to ("" for any).
func enumsByName(group, name string) []string {
	strs := func(v ...string) []string { return v }
	switch {
	case name == "kind" && (group == "identity" || group == "usage"):
		return stringsOf(steward.Kinds)
	case name == "status" && group == "identity":
		return stringsOf(steward.Statuses)
	case name == "sensitivity" || name == "tier":
		return stringsOf(steward.Sensitivities)
	case name == "severity":
		return stringsOf(steward.Severities)
	case name == "owasp":
		return steward.OWASPOrder
	case name == "sort" && group == "identity":
		return steward.IdentitySorts
	case name == "output" && group != "scan" && group != "report":
		return strs("table", "json", "yaml", "csv")
	}
	return nil
}

func stringsOf[S ~string](values []S) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}

// enumValues returns a flag's closed set of values, or nil.
func enumValues(group string, f *pflag.Flag) []string {
	usage := strings.TrimSpace(f.Usage)
	if m := enumOr.FindStringSubmatch(usage); m != nil {
		head, last, _ := strings.Cut(m[1], " or ")
		out := strings.Split(head, ", ")
		return append(out, strings.TrimSpace(last))
	}
	if m := enumPipe.FindStringSubmatch(usage); m != nil {
		return strings.Split(m[1], "|")
	}
	return enumsByName(group, f.Name)
}

// completeEnums registers shell completion for every flag of the tree
// whose values are a closed list (statuses, kinds, tiers, formats…), so
// `steward identity list --status <TAB>` offers them.
func completeEnums(c *cobra.Command) {
	group := ""
	for p := c; p != nil && p.HasParent(); p = p.Parent() {
		group = p.Name()
	}
	c.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
		if vals := enumValues(group, f); vals != nil {
			_ = c.RegisterFlagCompletionFunc(f.Name, cobra.FixedCompletions(vals, cobra.ShellCompDirectiveNoFileComp))
		}
	})
	for _, sub := range c.Commands() {
		completeEnums(sub)
	}
}

// strictUsage makes every command-line mistake a usage error (exit 2):
// wrong argument counts anywhere in the tree, an empty or blank argument
// (an id, a name, a path: never meaningful, and "identity show \"\"" would
// otherwise ask the server for the list route), and an unknown subcommand
// of a command group, which cobra would otherwise answer with its help and
// exit 0.
func strictUsage(c *cobra.Command) {
	if c.HasSubCommands() && c.Run == nil && c.RunE == nil {
		c.Args = cobra.ArbitraryArgs
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("unknown command %q for %q (see %s --help)", args[0], cmd.CommandPath(), cmd.CommandPath())}
			}
			return cmd.Help()
		}
	} else if check := c.Args; check != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return usageError{err}
			}
			return nonEmptyArgs(cmd, args)
		}
	}
	for _, sub := range c.Commands() {
		strictUsage(sub)
	}
}

// nonEmptyArgs refuses an empty or blank positional argument, naming it
// by its placeholder in the command's usage line (ID, CREDENTIAL_ID…).
func nonEmptyArgs(cmd *cobra.Command, args []string) error {
	for i, a := range args {
		if strings.TrimSpace(a) == "" {
			return usageError{fmt.Errorf("%s: %s is empty; give a value (see %s --help)", cmd.CommandPath(), argName(cmd.Use, i), cmd.CommandPath())}
		}
	}
	return nil
}

// argName is the placeholder of the i-th positional argument in a usage
// line ("show ID" → ID; "decide CAMPAIGN ITEM" → ITEM; "validate
// FILE|DIR..." → FILE|DIR for every argument), or "argument N".
func argName(use string, i int) string {
	var names []string
	variadic := false
	words := strings.Fields(use)
	for _, w := range words[min(1, len(words)):] {
		if strings.HasPrefix(w, "-") || strings.HasPrefix(w, "[-") {
			break // the flags' placeholders follow
		}
		variadic = strings.Contains(w, "...")
		if w = strings.Trim(w, "[]."); w != "" && strings.ToUpper(w) == w {
			names = append(names, w)
		}
	}
	switch {
	case i < len(names):
		return names[i]
	case variadic && len(names) > 0:
		return names[len(names)-1]
	}
	return fmt.Sprintf("argument %d", i+1)
}
