package main

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// browser returns a headless Chromium, or skips the test (fails it when
// MIMCHECK_REQUIRE_BROWSER is set, as .ci/run does: there the browser is
// installed, and a skip would hide a broken page).
func browser(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("MIMCHECK_REQUIRE_BROWSER") != "" {
		t.Fatal("no headless browser (chromium) found, and MIMCHECK_REQUIRE_BROWSER is set")
	}
	t.Skip("no headless browser (chromium) on PATH: apt-get install chromium")
	return ""
}

// headless runs the browser on the page with the given flags and returns
// its stdout.
func headless(t *testing.T, bin, url string, flags ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run", "--user-data-dir=" + t.TempDir()}, flags...)
	cmd := exec.CommandContext(ctx, bin, append(args, url)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", bin, err, errb.String())
	}
	return out.Bytes()
}

// TestShowHTMLInBrowser loads explore show --format html of finding 2 (a
// real use-after-free of mimalloc v2.4.1, traces/testdata) in headless
// Chromium and checks what it rendered: the script selected the violating
// step and shows the state after it (the freed segment marked), the lanes
// have one column per thread, a #step=K address selects step K, and the
// screenshot shows the highlighted violation row and a page drawn with its
// blocks.
func TestShowHTMLInBrowser(t *testing.T) {
	bin := browser(t)
	trace := "../../traces/testdata/no-use-after-free--conform-force-abandon.trace"
	code, page, errs := explore(t, "show", "--format", "html", trace)
	if code != exitOK {
		t.Fatalf("show --format html: exit %d: %s", code, errs)
	}
	if strings.Contains(page, "http://") || strings.Contains(page, "https://") || strings.Contains(page, " src=") {
		t.Error("the page refers to something outside itself")
	}
	file := filepath.Join(t.TempDir(), "finding2.html")
	if err := os.WriteFile(file, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	url := "file://" + file

	dom := string(headless(t, bin, url, "--dump-dom"))
	checks := []struct{ what, re string }{
		{"the script selected the violating step", `<body[^>]* data-selected="19"`},
		{"the violating row is selected", `<tr class="step violation selected" id="row-19"`},
		{"the state after it is shown", `<div class="snap" id="snap-19" data-title="State after step 19 \(T1 force-abandon.read-capacity\)">`},
		{"the title says which state", `<h2 id="state-title">State after step 19 \(T1 force-abandon.read-capacity\)</h2>`},
		{"the freed segment is marked", `id="snap-19"[^>]*>(?:<p class="fault" id="fault">fault: use-after-free by T1 at segment s0, slice 1</p>)<div class="segs"><div class="seg dead faulted" id="seg-0">`},
		{"the invariant is explained", `violation no-use-after-free</b> at step 19`},
	}
	for _, c := range checks {
		if !regexp.MustCompile(c.re).MatchString(dom) {
			t.Errorf("%s: no match for %s", c.what, c.re)
		}
	}
	if n := strings.Count(dom, `<th class="lane">`); n != 2 {
		t.Errorf("%d thread lanes, want 2 (T1, T2)", n)
	}
	shown := regexp.MustCompile(`<div class="snap" id="snap-(-?\d+)"[^>]*?(hidden(="")?)?>`).FindAllStringSubmatch(dom, -1)
	visible := 0
	for _, m := range shown {
		if m[2] == "" {
			visible++
		}
	}
	if len(shown) != 21 || visible != 1 {
		t.Errorf("%d state pictures (want 21: the initial state and 20 steps), %d visible (want 1)", len(shown), visible)
	}

	dom = string(headless(t, bin, url+"#step=3", "--dump-dom"))
	if !strings.Contains(dom, `data-selected="3"`) || !regexp.MustCompile(`<div class="snap" id="snap-3" data-title="State after step 3 [^"]*">`).MatchString(dom) {
		t.Error("#step=3 does not select step 3")
	}

	shot := filepath.Join(t.TempDir(), "shot.png")
	headless(t, bin, url, "--window-size=1500,1000", "--screenshot="+shot)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// count pixels of the selected violation row (#f9cfcf) and of the
	// page boxes (#eaf2ff)
	var violet, pagebox int
	r := img.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			switch [3]uint32{cr >> 8, cg >> 8, cb >> 8} {
			case [3]uint32{0xf9, 0xcf, 0xcf}:
				violet++
			case [3]uint32{0xea, 0xf2, 0xff}:
				pagebox++
			}
		}
	}
	if r.Dx() != 1500 || violet < 2000 || pagebox < 2000 {
		t.Errorf("screenshot %dx%d: %d pixels of the selected violation row, %d of page boxes (want >= 2000 each)", r.Dx(), r.Dy(), violet, pagebox)
	}
}
