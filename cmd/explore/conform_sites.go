package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"mimcheck/allocsim"
	"mimcheck/conform"
	"mimcheck/traces"
)

const conformSitesUsage = `usage: explore conform sites [--source TAG] [--runs N] [--scenarios GLOB]

Prints the site table of a tag (README, "Conformance"): every C site
(file:line and operation) the conformance scenarios reach, with the model
steps whose access it made in --follow runs and, for a point that ran
without a step of its own, why (conform/sitetable.go). The runs are
--follow runs of the release build, seeds 1..N, over the scenarios that map
onto the tag; runs that diverge (the README lists the known divergences)
are counted, not tabulated. Exit 4 when a run that conforms in every state
made an access the table does not explain.

Flags:
`

func cmdConformSites(args []string, stdout, stderr io.Writer) int {
	var source, mimalloc, cache, glob string
	runs := 20
	fs := flag.NewFlagSet("conform sites", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&source, "source", "v2.4.1", "mimalloc tag: "+strings.Join(allocsim.Sources(), ", "))
	fs.StringVar(&mimalloc, "mimalloc", "", "a mimalloc checkout at that tag (default: ../shared/third_party/mimalloc/TAG beside the repository)")
	fs.StringVar(&cache, "cache", "", "build directory (default: the user cache directory, mimcheck/conform)")
	fs.StringVar(&glob, "scenarios", "scenarios/conform/*.scn", "the scenario files (a glob)")
	fs.IntVar(&runs, "runs", runs, "follow runs per scenario (seeds 1..N)")
	_, code, done := parseCommand(fs, args, "conform sites", conformSitesUsage, true, stdout, stderr)
	if done {
		return code
	}
	if runs < 1 {
		return fail(stderr, usagef("--runs %d: must be >= 1", runs))
	}
	src, err := allocsim.ParseSource(source)
	if err != nil {
		return fail(stderr, usagef("--source: %v", err))
	}
	files, err := filepath.Glob(glob)
	if err != nil || len(files) == 0 {
		return fail(stderr, usagef("--scenarios %s: no scenario files", glob))
	}
	sort.Strings(files)
	bin, err := conformBuild(mimalloc, cache, source, conform.Release)
	if err != nil {
		return fail(stderr, err)
	}
	tab := conform.SiteTable{}
	var used []string
	conforming, diverged := 0, map[string]int{}
	for _, file := range files {
		var h traces.Header
		if err := scenarioHeader(&h, file, 0); err != nil {
			return fail(stderr, err)
		}
		sc, err := h.LoadScenario()
		if err != nil {
			return fail(stderr, scenarioErr(file, err))
		}
		if _, err := conform.Config(sc, src); err != nil || conform.FlavourFits(sc, conform.Release) != nil {
			continue // no C counterpart at this tag, or not in a release build
		}
		used = append(used, filepath.Base(file))
		for seed := uint64(1); seed <= uint64(runs); seed++ {
			r, err := conform.FollowSteps(bin, sc, allocsim.Config{Source: src}, seed, 5000, nil, nil)
			if err != nil {
				return fail(stderr, fmt.Errorf("%s seed %d: %v", file, seed, err))
			}
			if r.Crash != nil || r.Mismatch != nil {
				what := "crash"
				if r.Mismatch != nil {
					what = r.Mismatch.What
				}
				if strings.Contains(what, "the site table") {
					fmt.Fprintf(stdout, "result=divergence source=%s scenario=%s seed=%d what=%q\n", source, file, seed, what)
					return exitDiverged
				}
				diverged[filepath.Base(file)]++
				continue
			}
			conforming++
			tab.Add(conform.Classify(r.Points, sc.OSMemory, src))
		}
	}
	fmt.Fprintf(stdout, "## Site table, %s\n\nFrom `explore conform sites --source %s --runs %d`: %d conforming follow runs of %s", source, source, runs, conforming, strings.Join(used, ", "))
	if len(diverged) > 0 {
		var d []string
		for f, n := range diverged {
			d = append(d, fmt.Sprintf("%s %d", f, n))
		}
		sort.Strings(d)
		fmt.Fprintf(stdout, " (runs that diverged at a known place, not tabulated: %s)", strings.Join(d, ", "))
	}
	fmt.Fprintf(stdout, ".\n\n%s", tab.Markdown())
	return exitOK
}
