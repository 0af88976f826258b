package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"mimcheck/allocsim"
	"mimcheck/properties"
	"mimcheck/traces"
)

// listUsage is the help text of explore list.
const listUsage = `usage: explore list [--scenario S1|S2|S3 [--rounds N]]

Lists the scenarios, sources, patches, language modes, mutants,
abstractions, strategies, the zoo of historical bugs (--bug), invariants (with their spec letters) and step
labels (with their memory orders and the C functions they model). With
--scenario it prints a built-in scenario's program instead, in the
scenario file format (README, Scenario files).

Example:
  explore list
  explore list --scenario S2

Flags:
`

// cmdList is "explore list".
func cmdList(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	scen := fs.String("scenario", "", "print this built-in scenario's program: S1, S2 or S3")
	rounds := fs.Int("rounds", 12, "warm-up rounds of S3 (0..20)")
	_, code, done := parseCommand(fs, args, "list", listUsage, true, stdout, stderr)
	if done {
		return code
	}
	if *scen != "" {
		if !strings.EqualFold(*scen, "S3") && *rounds != 12 {
			return fail(stderr, usagef("--rounds: only S3 has warm-up rounds (--scenario %s)", *scen))
		}
		text, err := allocsim.BuiltinText(*scen, *rounds)
		if err != nil {
			return fail(stderr, usagef("--scenario: %v", err))
		}
		fmt.Fprint(stdout, text)
		return exitOK
	}
	w := stdout
	fmt.Fprintf(w, "scenarios:     %s, zoo:NAME (or a scenario FILE)\n", strings.Join(allocsim.BuiltinScenarios(), " "))
	fmt.Fprintf(w, "sources:       %s\n", strings.Join(allocsim.Sources(), " "))
	fmt.Fprintf(w, "patches:       none %s (combine with commas: A,B; C is mimcheck's proposed fix for README finding 3)\n", strings.Join(allocsim.PatchNames(), " "))
	fmt.Fprintf(w, "langs:         %s\n", strings.Join(allocsim.Langs(), " "))
	fmt.Fprintf(w, "memory models: %s (happens-before and races checked in all; --no-races turns that off)\n", strings.Join(allocsim.Memories(), " "))
	fmt.Fprintf(w, "mutants:       none %s\n", strings.Join(allocsim.Mutants(), " "))
	fmt.Fprintf(w, "abstractions:  %s\n", strings.Join(allocsim.Abstractions(), " "))
	fmt.Fprintf(w, "strategies:    %s\n", strings.Join(traces.Strategies, " "))
	fmt.Fprintf(w, "model-rev:     %d\n", traces.ModelRev)

	fmt.Fprintf(w, "\nzoo (--bug NAME: a real historical bug re-introduced into the preset with its fix):\n")
	for _, z := range allocsim.Zoo {
		ret := ""
		if z.Retention {
			ret = ", --retention"
		}
		fmt.Fprintf(w, "  %-28s fix %s (%s), on %s%s, reports %s: %s\n", z.Name, z.Fix, z.Released, z.Preset, ret, z.Invariant, z.What)
	}

	fmt.Fprintf(w, "\ninvariants:\n")
	wn, ws := 0, 0
	for _, inv := range properties.Registry {
		wn, ws = max(wn, len(inv.Name)), max(ws, len(inv.Spec))
	}
	for _, inv := range properties.Registry {
		fmt.Fprintf(w, "  %-*s  %-*s  [%s] %s\n", wn, inv.Name, ws, inv.Spec, inv.Checks, inv.Doc)
	}

	// Modes depend on the language mode for direct C expressions on
	// _Atomic fields, so show them per language when they differ.
	sims, err := langSims()
	if err != nil {
		return fail(stderr, err)
	}
	fmt.Fprintf(w, "\nsteps (mode under %s; other langs where it differs):\n", allocsim.Langs()[0])
	labels := allocsim.StepLabels()
	wl := 0
	for _, l := range labels {
		wl = max(wl, len(l))
	}
	for _, l := range labels {
		si, ok := allocsim.StepInfoOf(l)
		if !ok {
			continue
		}
		mode := sims[0].ModeOf(si).String()
		var other []string
		for k, m := range sims[1:] {
			if mm := m.ModeOf(si).String(); mm != mode {
				other = append(other, allocsim.Langs()[k+1]+": "+mm)
			}
		}
		if len(other) > 0 {
			mode += " (" + strings.Join(other, ", ") + ")"
		}
		fmt.Fprintf(w, "  %-*s  %-26s  %s  [%s]\n", wl, l, mode, si.Cite, si.Field)
	}

	// The thread_id read of mi_segment_span_free_coalesce is folded into
	// the step that runs the coalesce (label suffix "+coalesce", mode
	// "M+R" in traces); its order depends on the source, patch A and lang.
	fmt.Fprintf(w, "\ncoalesce read (mi_segment_span_free_coalesce thread_id; steps labelled +coalesce):\n")
	for _, src := range allocsim.Sources() {
		for _, patch := range []string{"none", "A"} {
			var modes []string
			for _, lang := range allocsim.Langs() {
				m, err := simFor(src, patch, lang)
				if err != nil {
					return fail(stderr, err)
				}
				modes = append(modes, lang+": "+m.CoalesceReadMode().String())
			}
			fmt.Fprintf(w, "  %-7s patch %-4s  %s\n", src, patch, strings.Join(modes, ", "))
		}
	}
	return exitOK
}

// simFor returns a simulator of S1 for the given source, patches and lang.
func simFor(source, patches, lang string) (*allocsim.Sim, error) {
	var cfg allocsim.Config
	var err error
	if cfg.Source, err = allocsim.ParseSource(source); err != nil {
		return nil, err
	}
	if cfg.Patches, err = allocsim.ParsePatches(patches); err != nil {
		return nil, err
	}
	if cfg.Lang, err = allocsim.ParseLang(lang); err != nil {
		return nil, err
	}
	if cfg.Scenario, err = allocsim.BuiltinScenario("S1", traces.DefaultRounds); err != nil {
		return nil, err
	}
	return allocsim.New(cfg)
}

// langSims returns one simulator of S1 per language mode, in the order of
// allocsim.Langs, to ask for the modes of steps.
func langSims() ([]*allocsim.Sim, error) {
	var out []*allocsim.Sim
	for _, lang := range allocsim.Langs() {
		m, err := simFor(allocsim.Sources()[0], "none", lang)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}
