package conform

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"mimcheck/allocsim"
)

// testCache is the build directory the tests share (one build per tag and
// flavour for the whole package).
var testCache string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mimcheck-conform-test-")
	if err != nil {
		panic(err)
	}
	testCache = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// shared returns the shared mimalloc sources of tag, or skips the test
// (with one line saying why) when they or gcc are missing.
func shared(t *testing.T, tag string, needGCC bool) string {
	t.Helper()
	dir := filepath.Join("..", "..", "shared", "third_party", "mimalloc", tag)
	if err := CheckSource(dir); err != nil {
		t.Skipf("no mimalloc sources: %v", err)
	}
	if needGCC {
		if _, err := exec.LookPath("gcc"); err != nil {
			t.Skip("gcc not found: the conformance harness cannot be built")
		}
	}
	return dir
}

func scenario(t *testing.T, path string) *allocsim.Scenario {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := allocsim.ParseScenario(path, string(data))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// TestPatchesApply: every generated change finds its code at every tag
// (a tag whose code moved makes the build fail with the patch named, never
// a silently unpatched build).
func TestPatchesApply(t *testing.T) {
	for _, tag := range []string{"v2.4.1", "v2.3.0", "v2.1.7"} {
		src := shared(t, tag, false)
		dir := t.TempDir()
		if err := copyTree(src, dir); err != nil {
			t.Fatal(err)
		}
		if err := patchTree(dir); err != nil {
			t.Fatalf("%s: %v", tag, err)
		}
		atomic, _ := os.ReadFile(filepath.Join(dir, "include", "mimalloc", "atomic.h"))
		if !strings.Contains(string(atomic), "mimcheck conformance instrumentation") {
			t.Errorf("%s: atomic.h not instrumented", tag)
		}
		seg, _ := os.ReadFile(filepath.Join(dir, "src", "segment.c"))
		if n := strings.Count(string(seg), "mc_point(MC_STORE|MC_SEQ_CST,&segment->thread_id"); n != 3 {
			t.Errorf("%s: %d direct thread_id stores instrumented, want 3", tag, n)
		}
		if !strings.Contains(string(seg), "segment_slices = mc_segment_slices") {
			t.Errorf("%s: the slice limit is missing", tag)
		}
		orig, _ := os.ReadFile(filepath.Join(src, "src", "segment.c"))
		if strings.Contains(string(orig), "mc_point") {
			t.Fatalf("%s: the shared sources were modified", tag)
		}
	}
}

// TestConfigMapping: classes without a C counterpart, OS memory and
// statistics builds are refused with the reason; the reference classes
// map.
func TestConfigMapping(t *testing.T) {
	sc := scenario(t, "../scenarios/conform/s1.scn")
	cfg, err := Config(sc, allocsim.V241)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"segments 1", "slices 5", "class 0 1 8", "class 1 2 1", "option abandoned_reclaim_on_free 1", "option purge_delay -1",
		"thread m0=0 m1=1 send:0>0 free:1 exit", "thread init recv:0<0 free:0 exit"}
	if strings.Join(cfg, "\n") != strings.Join(want, "\n") {
		t.Errorf("config\n%s\nwant\n%s", strings.Join(cfg, "\n"), strings.Join(want, "\n"))
	}
	if _, err := Config(sc, allocsim.V217); err == nil || !strings.Contains(err.Error(), "no C counterpart at v2.1.7") {
		t.Errorf("v2.1.7 accepted a 2-slice object (a medium object there): %v", err)
	}
	ref, _ := allocsim.BuiltinScenario("S1", 0)
	if _, err := Config(ref, allocsim.V241); err == nil || !strings.Contains(err.Error(), "class S") {
		t.Errorf("S1's 2-block small class accepted: %v", err)
	}
}

// TestConformRuns: the harness builds with mimalloc v2.4.1 (debug: its own
// assertions on) and runs conform-s1 under seeded schedules to the end;
// the same seed gives the same run, point for point; every tag builds in
// the debug flavour and runs conform-s1-m3.
func TestConformRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds mimalloc")
	}
	cache := testCache
	src := shared(t, "v2.4.1", true)
	bin, err := Build(src, Debug, cache)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Config(scenario(t, "../scenarios/conform/s1.scn"), allocsim.V241)
	if err != nil {
		t.Fatal(err)
	}
	var first string
	for seed := uint64(1); seed <= 6; seed++ {
		r := RunRandom(bin, cfg, seed, 100000)
		if r.Err != nil {
			t.Fatalf("seed %d: %v\n%s", seed, r.Err, r.LogText())
		}
		if !strings.HasPrefix(r.State, "state s0:") {
			t.Errorf("seed %d: state %q", seed, r.State)
		}
		if seed == 3 {
			first = r.LogText()
		}
	}
	if again := RunRandom(bin, cfg, 3, 100000); again.LogText() != first {
		t.Errorf("seed 3 twice: the runs differ")
	}
	if !strings.Contains(first, "s0.thread_id") || !strings.Contains(first, ".xthread_free") {
		t.Errorf("the log names no shared location:\n%s", first)
	}
	if bin2, err := Build(src, Debug, cache); err != nil || bin2 != bin {
		t.Errorf("a second build of the same inputs was not reused: %s %v", bin2, err)
	}
	for _, tag := range []allocsim.Source{allocsim.V230, allocsim.V217} {
		b, err := Build(shared(t, tag.String(), true), Debug, cache)
		if err != nil {
			t.Fatalf("%s: %v", tag, err)
		}
		cfg, err := Config(scenario(t, "../scenarios/conform/s1-m3.scn"), tag)
		if err != nil {
			t.Fatal(err)
		}
		for seed := uint64(1); seed <= 3; seed++ {
			if r := RunRandom(b, cfg, seed, 100000); r.Err != nil {
				t.Fatalf("%s seed %d: %v", tag, seed, r.Err)
			}
		}
	}
}

// TestConformCatchesDefects: hand-made defects in the program are caught
// by the flavour made for them: a double free by mimalloc's own check in
// the debug build (its error report ends the run), a write to a freed block
// by AddressSanitizer with MI_TRACK_ASAN; the release build runs both to
// the end, since it checks neither.
func TestConformCatchesDefects(t *testing.T) {
	if testing.Short() {
		t.Skip("builds mimalloc")
	}
	src := shared(t, "v2.4.1", true)
	cache := testCache
	base := []string{"segments 1", "slices 5", "class 0 1 8", "option abandoned_reclaim_on_free 0"}
	for _, c := range []struct {
		fl   Flavour
		prog string
		want string
	}{
		{Debug, "thread m0=0 m1=0 keepfree:0 keepfree:0 exit", "double free"},
		{ASan, "thread m0=0 m1=0 keepfree:0 poke:0 exit", "AddressSanitizer"},
		{Release, "thread m0=0 m1=0 keepfree:0 poke:0 exit", ""},
	} {
		bin, err := Build(src, c.fl, cache)
		if err != nil {
			t.Fatal(err)
		}
		r := RunRandom(bin, append(base, c.prog), 1, 100000)
		switch {
		case c.want == "" && r.Err != nil:
			t.Errorf("%s: %v", c.fl, r.Err)
		case c.want != "" && (r.Err == nil || !strings.Contains(r.Err.Error(), c.want)):
			t.Errorf("%s %q: error %v, want one naming %q", c.fl, c.prog, r.Err, c.want)
		}
	}
}

// TestFinding2OnC: finding 2 reproduced on mimalloc's own C code. With
// target_segments_per_thread=2 and immediate purging, the force abandon of
// a segment whose last page is freed by its own delayed-free drain reads
// page->capacity (page.c:450) in the freed, decommitted segment: in the
// debug build (decommit = PROT_NONE) a segmentation fault at offset 0xa of
// the page's metadata (capacity), in T1's fourth operation, at v2.4.1
// (seed 3) and v2.3.0 (seed 9). The model reports the use-after-free on
// the same schedule of operations (CompareOps).
func TestFinding2OnC(t *testing.T) {
	if testing.Short() {
		t.Skip("builds mimalloc")
	}
	sc := scenario(t, "../scenarios/conform/force-abandon.scn")
	for _, c := range []struct {
		src  allocsim.Source
		seed uint64
	}{{allocsim.V241, 3}, {allocsim.V230, 9}} {
		bin, err := Build(shared(t, c.src.String(), true), Debug, testCache)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := Config(sc, c.src)
		if err != nil {
			t.Fatal(err)
		}
		cfg = WithOptions(cfg, []string{"option purge_delay 0"})
		r := RunRandom(bin, cfg, c.seed, 200000)
		if r.Err == nil || !strings.Contains(r.Err.Error(), "signal 11: access to s0.p1+0xa by T1") || !strings.Contains(r.Err.Error(), "(operation 3)") {
			t.Errorf("%s seed %d: %v, want a segmentation fault on the capacity of page 1 of slot 0", c.src, c.seed, r.Err)
		}
		mm, err := CompareOps(bin, sc, allocsim.Config{Source: c.src}, 3, nil)
		if err != nil {
			t.Fatal(err)
		}
		if mm == nil || !strings.Contains(mm.What, "the model reports use-after-free by T1 in T1's operation 3") {
			t.Errorf("%s: the model does not report the use-after-free on the schedule of seed 3: %v", c.src, mm)
		}
	}
}

// TestCompareAgrees: on conform-s1-m3 the model and the C code end in the
// same state under 10 seeded schedules of whole operations at every tag.
func TestCompareAgrees(t *testing.T) {
	if testing.Short() {
		t.Skip("builds mimalloc")
	}
	sc := scenario(t, "../scenarios/conform/s1-m3.scn")
	cache := testCache
	for _, src := range []allocsim.Source{allocsim.V241, allocsim.V230, allocsim.V217} {
		bin, err := Build(shared(t, src.String(), true), Release, cache)
		if err != nil {
			t.Fatal(err)
		}
		for seed := uint64(1); seed <= 10; seed++ {
			mm, err := CompareOps(bin, sc, allocsim.Config{Source: src}, seed, nil)
			if err != nil || mm != nil {
				t.Fatalf("%s seed %d: %v %v", src, seed, err, mm)
			}
		}
	}
}

// TestFollowSteps: the C code follows the model step by step on
// conform-s1-m3 at every tag (10 seeded step schedules each): the same
// shared accesses in the same order and the same states after every step
// where both wait before a shared access.
func TestFollowSteps(t *testing.T) {
	if testing.Short() {
		t.Skip("builds mimalloc")
	}
	sc := scenario(t, "../scenarios/conform/s1-m3.scn")
	for _, src := range []allocsim.Source{allocsim.V241, allocsim.V230, allocsim.V217} {
		bin, err := Build(shared(t, src.String(), true), Release, testCache)
		if err != nil {
			t.Fatal(err)
		}
		for seed := uint64(1); seed <= 10; seed++ {
			r, err := FollowSteps(bin, sc, allocsim.Config{Source: src}, seed, 5000, nil, nil)
			if err != nil {
				t.Fatalf("%s seed %d: %v", src, seed, err)
			}
			if r.Mismatch != nil || r.Crash != nil || r.Steps < 10 {
				t.Fatalf("%s seed %d: %d steps, %v %v", src, seed, r.Steps, r.Mismatch, r.Crash)
			}
		}
	}
}

// TestSiteTableReasons: every local site of the table names a reason that
// exists, and no step label is listed twice with the same site.
func TestSiteTableReasons(t *testing.T) {
	for src, ls := range localSites {
		for _, l := range ls {
			if LocalReasons[l.Reason] == "" {
				t.Errorf("%s: local site %s names reason %q, which LocalReasons lacks", src, l.Site, l.Reason)
			}
		}
	}
	for src, steps := range stepSites {
		for label, sites := range steps {
			seen := map[string]bool{}
			for _, s := range sites {
				if seen[s] {
					t.Errorf("%s %s: site %s listed twice", src, label, s)
				}
				seen[s] = true
			}
		}
	}
}

// TestFollowStrict: the follow runs hold the C code to the site table. On
// conform-malloc-search (the malloc search of model rev 4) every tag
// conforms, and at v2.4.1 with the table's page-extend entries removed (C's
// second collect of the queue's first page when the page's capacity runs
// out, which the model's fully extended pages do not make) a run that
// conforms in every state is a divergence naming the C access.
func TestFollowStrict(t *testing.T) {
	if testing.Short() {
		t.Skip("builds mimalloc")
	}
	sc := scenario(t, "../scenarios/conform/malloc-search.scn")
	for _, src := range []allocsim.Source{allocsim.V241, allocsim.V230, allocsim.V217} {
		bin, err := Build(shared(t, src.String(), true), Release, testCache)
		if err != nil {
			t.Fatal(err)
		}
		for seed := uint64(1); seed <= 5; seed++ {
			r, err := FollowSteps(bin, sc, allocsim.Config{Source: src}, seed, 5000, nil, nil)
			if err != nil {
				t.Fatalf("%s seed %d: %v", src, seed, err)
			}
			if r.Mismatch != nil || r.Crash != nil {
				t.Fatalf("%s seed %d: %d steps, %v %v", src, seed, r.Steps, r.Mismatch, r.Crash)
			}
		}
	}
	saved := localSites[allocsim.V241]
	defer func() { localSites[allocsim.V241] = saved }()
	var cut []localSite
	for _, l := range saved {
		if l.Reason != "page-extend" {
			cut = append(cut, l)
		}
	}
	localSites[allocsim.V241] = cut
	bin, err := Build(shared(t, "v2.4.1", true), Release, testCache)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for seed := uint64(1); seed <= 5 && !found; seed++ {
		r, err := FollowSteps(bin, sc, allocsim.Config{Source: allocsim.V241}, seed, 5000, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.Mismatch != nil && strings.Contains(r.Mismatch.What, "xthread_free") && strings.Contains(r.Mismatch.What, "no step for it") {
			found = true
		}
	}
	if !found {
		t.Error("without the page-extend entries no follow run reported C's second collect of the first page")
	}
}

// TestFollowCShort: the short conformance run of make test — 100
// schedules chosen by the harness on the C code of s1 (s1-m3 at v2.1.7,
// where s1's 128 KiB object is medium) and s2 at v2.4.1 and v2.1.7, each
// followed by the model step by step with no divergence.
func TestFollowCShort(t *testing.T) {
	if testing.Short() {
		t.Skip("builds mimalloc")
	}
	for _, src := range []allocsim.Source{allocsim.V241, allocsim.V217} {
		bin, err := Build(shared(t, src.String(), true), Release, testCache)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"s1", "s2"} {
			if name == "s1" && src == allocsim.V217 {
				name = "s1-m3"
			}
			sc := scenario(t, "../scenarios/conform/"+name+".scn")
			steps := 0
			for seed := uint64(1); seed <= 100; seed++ {
				r, err := FollowC(bin, sc, allocsim.Config{Source: src}, seed, 5000, nil, seed%2 == 0)
				if err != nil {
					t.Fatalf("%s %s seed %d: %v", src, name, seed, err)
				}
				if r.Mismatch != nil || r.Crash != nil {
					t.Fatalf("%s %s seed %d: %d steps, %v %v", src, name, seed, r.Steps, r.Mismatch, r.Crash)
				}
				steps += r.Steps
			}
			t.Logf("%s %s: 100 C schedules (random and pct) followed, %d steps", src, name, steps)
		}
	}
}
