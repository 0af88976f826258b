package conform

import (
	"strings"

	"mimcheck/allocsim"
)

// The site table: for each tag, which C points (file:line and operation
// with its memory order, as the instrumented build reports them) make the
// shared access of which model step, and which C points at a location of
// the model's state run without a step of their own, and why. It is the one
// place that says so (README, "Conformance", "Site table"; `explore conform
// sites` prints what the follow runs did with every site).
//
// FollowSteps holds the C code to it: a step's access is matched only at a
// site listed for the step's label (a C point of the right location and
// kind at another site is local work, not the step), and a follow run that
// conforms in every state but ran a C point at a model location that is
// neither a step's access, nor part of an adjacent step's
// read-modify-write, nor listed in localSites, is a divergence (an access
// the model does not make). Points at locations outside the model's state
// (statistics, options, the arena's other fields, the OS layer, the
// segment map; LocClass "-") run without a scheduling decision of the
// model's.

// stepSites: tag -> step label -> the C sites its accesses are made at.
// The mailbox steps (handoff.send, handoff.recv) are the harness's own.
var stepSites = map[allocsim.Source]map[string][]string{
	allocsim.V241: {
		"abandon.mark-abandoned":             {"arena-abandon.c:146 store.release", "arena-abandon.c:160 rmw.relaxed", "bitmap.c:151 rmw.acq_rel"},
		"abandon.os-lock-append":             {"arena-abandon.c:135 rmw.relaxed"},
		"abandon.store-thread-id":            {"segment.c:1141 store.seq_cst"},
		"check-free.collect-xthread-free":    {"internal.h:621 load.relaxed"},
		"cursor.load-abandoned-count":        {"arena-abandon.c:178 load.relaxed", "segment.c:1338 load.relaxed"},
		"cursor.load-bitmap":                 {"arena-abandon.c:245 load.relaxed"},
		"cursor.os-lock-pop":                 {"arena-abandon.c:81 rmw.relaxed"},
		"cursor.unclaim-abandoned":           {"arena-abandon.c:227 rmw.relaxed", "bitmap.c:138 rmw.acq_rel"},
		"delayed.collect-xthread-free":       {"internal.h:621 load.relaxed"},
		"delayed.repush":                     {"page.c:368 load.relaxed"},
		"delayed.take-list":                  {"page.c:355 load.relaxed"},
		"delayed.use-delayed-free":           {"page.c:176 load.acquire"},
		"exit.collect-xthread-free":          {"page.c:209 load.relaxed"},
		"exit.never-delayed-free":            {"page.c:176 load.acquire"},
		"force-abandon.collect-xthread-free": {"internal.h:621 load.relaxed"},
		"force-abandon.never-delayed-free":   {"page.c:176 load.acquire"},
		"free.cas-xthread-free":              {"free.c:243 load.relaxed"},
		"free.load-thread-id":                {"free.c:170 load.relaxed"},
		"free.load-xheap":                    {"free.c:260 load.acquire"},
		"free.push-heap-delayed":             {"free.c:264 load.relaxed"},
		"free.reset-delayed-freeing":         {"free.c:271 load.relaxed"},
		"free.unclaim-abandoned":             {"arena-abandon.c:108 rmw.relaxed", "bitmap.c:138 rmw.acq_rel"},
		"malloc.collect-xthread-free":        {"internal.h:621 load.relaxed"},
		"malloc.to-full-collect":             {"internal.h:621 load.relaxed"},
		"reclaim.collect-xthread-free":       {"internal.h:621 load.relaxed"},
		"reclaim.store-thread-id":            {"arena-abandon.c:109 store.release", "segment.c:1229 store.release"},
		"reclaim.store-xheap":                {"internal.h:635 store.release"},
		"reclaim.use-delayed-free":           {"page.c:176 load.acquire"},
		"segment-alloc.claim-slot":           {"bitmap.c:49 load.relaxed"},
		"segment-free.release-slot":          {"bitmap.c:355 rmw.acq_rel", "segment.c:418 store.seq_cst"},
	},
	allocsim.V230: {
		"abandon.mark-abandoned":             {"arena-abandon.c:146 store.release", "arena-abandon.c:160 rmw.relaxed", "bitmap.c:151 rmw.acq_rel"},
		"abandon.os-lock-append":             {"arena-abandon.c:135 rmw.relaxed"},
		"abandon.store-thread-id":            {"segment.c:1131 store.seq_cst"},
		"check-free.collect-xthread-free":    {"internal.h:618 load.relaxed"},
		"cursor.load-abandoned-count":        {"arena-abandon.c:178 load.relaxed", "segment.c:1328 load.relaxed"},
		"cursor.load-bitmap":                 {"arena-abandon.c:245 load.relaxed"},
		"cursor.os-lock-pop":                 {"arena-abandon.c:81 rmw.relaxed"},
		"cursor.unclaim-abandoned":           {"arena-abandon.c:227 rmw.relaxed", "bitmap.c:138 rmw.acq_rel"},
		"delayed.collect-xthread-free":       {"internal.h:618 load.relaxed"},
		"delayed.repush":                     {"page.c:336 load.relaxed"},
		"delayed.take-list":                  {"page.c:323 load.relaxed"},
		"delayed.use-delayed-free":           {"page.c:152 load.acquire"},
		"exit.collect-xthread-free":          {"page.c:185 load.relaxed"},
		"exit.never-delayed-free":            {"page.c:152 load.acquire"},
		"force-abandon.collect-xthread-free": {"internal.h:618 load.relaxed"},
		"force-abandon.never-delayed-free":   {"page.c:152 load.acquire"},
		"free.cas-xthread-free":              {"free.c:237 load.relaxed"},
		"free.load-thread-id":                {"free.c:164 load.relaxed"},
		"free.load-xheap":                    {"free.c:254 load.acquire"},
		"free.push-heap-delayed":             {"free.c:258 load.relaxed"},
		"free.reset-delayed-freeing":         {"free.c:265 load.relaxed"},
		"free.unclaim-abandoned":             {"arena-abandon.c:108 rmw.relaxed", "bitmap.c:138 rmw.acq_rel"},
		"malloc.collect-xthread-free":        {"internal.h:618 load.relaxed"},
		"malloc.to-full-collect":             {"internal.h:618 load.relaxed"},
		"reclaim.collect-xthread-free":       {"internal.h:618 load.relaxed"},
		"reclaim.store-thread-id":            {"arena-abandon.c:109 store.release", "segment.c:1219 store.release"},
		"reclaim.store-xheap":                {"internal.h:632 store.release"},
		"reclaim.use-delayed-free":           {"page.c:152 load.acquire"},
		"segment-alloc.claim-slot":           {"bitmap.c:49 load.relaxed"},
		"segment-free.release-slot":          {"bitmap.c:355 rmw.acq_rel", "segment.c:408 store.seq_cst"},
	},
	allocsim.V217: {
		"abandon.mark-abandoned":          {"arena.c:797 store.release", "arena.c:811 rmw.relaxed", "bitmap.c:151 rmw.acq_rel"},
		"abandon.store-thread-id":         {"segment.c:1107 store.seq_cst"},
		"check-free.collect-xthread-free": {"internal.h:537 load.relaxed"},
		"cursor.load-abandoned-count":     {"arena.c:755 load.relaxed", "arena.c:829 load.relaxed"},
		// arena.c:829: the per-call load of abandoned_count, folded into the bitmap load
		"cursor.load-bitmap":           {"arena.c:829 load.relaxed", "arena.c:842 load.relaxed"},
		"cursor.unclaim-abandoned":     {"arena.c:852 rmw.relaxed", "bitmap.c:138 rmw.acq_rel"},
		"delayed.collect-xthread-free": {"internal.h:537 load.relaxed"},
		"delayed.repush":               {"page.c:335 load.relaxed"},
		"delayed.take-list":            {"page.c:322 load.relaxed"},
		"delayed.use-delayed-free":     {"page.c:152 load.acquire"},
		"exit.collect-xthread-free":    {"page.c:185 load.relaxed"},
		"exit.never-delayed-free":      {"page.c:152 load.acquire"},
		// the OS segment's reclaim on free: the pre-check loads of
		// mi_free_block_mt and _mi_segment_attempt_reclaim fold into the CAS
		"free.cas-thread-id":           {"free.c:247 load.relaxed", "segment.c:1260 load.relaxed", "arena.c:766 cas.acq_rel"},
		"free.cas-xthread-free":        {"free.c:202 load.relaxed"},
		"free.load-thread-id":          {"free.c:143 load.relaxed"},
		"free.load-xheap":              {"free.c:219 load.acquire"},
		"free.push-heap-delayed":       {"free.c:223 load.relaxed"},
		"free.reset-delayed-freeing":   {"free.c:230 load.relaxed"},
		"free.unclaim-abandoned":       {"arena.c:784 rmw.relaxed", "bitmap.c:138 rmw.acq_rel"},
		"malloc.collect-xthread-free":  {"internal.h:537 load.relaxed"},
		"reclaim.collect-xthread-free": {"internal.h:537 load.relaxed"},
		"reclaim.store-thread-id":      {"arena.c:785 store.release", "segment.c:1194 store.release"},
		"reclaim.store-xheap":          {"internal.h:551 store.release"},
		"reclaim.use-delayed-free":     {"page.c:152 load.acquire"},
		"segment-alloc.claim-slot":     {"bitmap.c:49 load.relaxed"},
		"segment-free.release-slot":    {"bitmap.c:358 rmw.acq_rel", "segment.c:388 store.seq_cst"},
	},
}

// localSite is a C site at a location of the model's state whose point
// runs as local work of a step: when After is set, only right after a step
// whose label starts with After (the thread's last step).
type localSite struct {
	Site   string // "file:line kind"
	After  string
	Reason string // a key of LocalReasons
}

// LocalReasons names the reasons of localSites (README, site table).
var LocalReasons = map[string]string{
	"xheap-read":             "mi_page_heap: the holder's relaxed read of page->xheap, which only the page's holder writes, so it reads its own last write (other threads read xheap with acquire in mi_free_block_delayed_mt: step free.load-xheap)",
	"xheap-set":              "mi_page_set_heap by the holder where no other thread reads xheap: on a fresh page (mi_page_init, page.c:717 at v2.4.1: none of its blocks handed out yet), on a page being freed (_mi_page_free, page.c:481: all its blocks are free, so no thread frees into it), or in _mi_page_abandon (page.c:426) after the page's delayed mode is MI_NEVER_DELAYED_FREE (step exit.never-delayed-free: remote frees no longer read xheap); the store of a reclaim is step reclaim.store-xheap",
	"span-free-is-abandoned": "mi_segment_is_abandoned in mi_segment_span_free (and, at v2.4.1, in mi_segment_span_free_coalesce): the holder's read of thread_id, which only it writes while it holds the segment; folded into the step that frees the span (race reports name it coalesce.read-thread-id)",
	"coalesce-direct-test":   "the direct expression segment->thread_id == 0 in mi_segment_span_free_coalesce (instrumented as a seq_cst load, its C11/C++ meaning): the holder's read of thread_id, which only it writes while it holds the segment; folded into the step that frees the span (coalesce.read-thread-id in race reports; patch A makes it the relaxed mi_segment_is_abandoned)",
	"free-reread":            "mi_free_block_mt's reclaim-on-free test re-reads thread_id after mi_free's local/remote test (step free.load-thread-id); only thread-private work lies between, and only the freeing thread could make thread_id its own id, so the model's one read stands for both",
	"attempt-reclaim-reread": "_mi_segment_attempt_reclaim re-reads thread_id, as mi_free_block_mt does (one model read, step free.load-thread-id)",
	"recursive-free":         "the recursive mi_free after a reclaim on free: it reads the thread_id it has just stored (step reclaim.store-thread-id) and frees locally",
	"cursor-init-count":      "_mi_arena_field_cursor_init's load of abandoned_count right after mi_segment_get_reclaim_tries' (step cursor.load-abandoned-count): the model reads the count once for both (README, Model scope: abandoned_count)",
	"collect-max-tries":      "_mi_abandoned_collect's load of abandoned_count for max_tries (forced) right after _mi_arena_field_cursor_init's (step cursor.load-abandoned-count): the model reads the count once for both (README, Model scope: _mi_abandoned_collect)",
	"reclaim-store-again":    "mi_segment_reclaim stores thread_id again after _mi_arena_segment_clear_abandoned stored the same value for an OS segment (step reclaim.store-thread-id)",
	"page-extend":            "mi_page_queue_find_free_ex collects the queue's first page again after mi_find_free_page's collect, when the page's free list is empty and its capacity is below its reserve (mi_page_extend_free follows). The model's pages are fully extended, so its first collect already finds a block: a remote free between C's two collects is collected by C's second one and by the model's next collect. Not lossless (README, Model scope: page capacity)",
	"has-any-available":      "mi_page_has_any_available in mi_segment_check_free reads xthread_free again after the page's collect (used == reserved); the model folds it into step check-free.collect-xthread-free (scenarios.md §1.2: a free block or a non-empty xthread_free)",
	"delayed-freeing-retry":  "_mi_page_try_use_delayed_free's retry loads while another thread holds the page in MI_DELAYED_FREEING (at most four yields, then it gives up): the model's one load (step delayed.use-delayed-free) stands for the last",
	"cursor-bitmap-v217":     "the bitmap word load of a cursor step whose first point was v2.1.7's per-call abandoned_count load (arena.c:829), which the model folds into the bitmap load (step cursor.load-bitmap)",
}

var localSites = map[allocsim.Source][]localSite{
	allocsim.V241: {
		{"internal.h:630 load.relaxed", "", "xheap-read"},
		{"internal.h:635 store.release", "", "xheap-set"},
		{"segment.c:638 load.relaxed", "", "span-free-is-abandoned"},
		{"free.c:290 load.relaxed", "free.load-thread-id", "free-reread"},
		{"segment.c:1297 load.relaxed", "free.load-thread-id", "attempt-reclaim-reread"},
		{"free.c:170 load.relaxed", "reclaim.", "recursive-free"},
		{"arena-abandon.c:178 load.relaxed", "cursor.load-abandoned-count", "cursor-init-count"},
		{"segment.c:1400 load.relaxed", "cursor.load-abandoned-count", "collect-max-tries"},
		{"segment.c:1229 store.release", "reclaim.store-thread-id", "reclaim-store-again"},
		{"internal.h:621 load.relaxed", "malloc.collect-xthread-free", "page-extend"},
		{"page.c:209 load.relaxed", "malloc.collect-xthread-free", "page-extend"},
		{"page.c:213 cas.acq_rel", "malloc.collect-xthread-free", "page-extend"},
		{"internal.h:621 load.relaxed", "check-free.collect-xthread-free", "has-any-available"},
		{"page.c:176 load.acquire", "delayed.use-delayed-free", "delayed-freeing-retry"},
	},
	allocsim.V230: {
		{"internal.h:627 load.relaxed", "", "xheap-read"},
		{"internal.h:632 store.release", "", "xheap-set"},
		{"segment.c:628 load.relaxed", "", "span-free-is-abandoned"},
		{"segment.c:696 load.seq_cst", "", "coalesce-direct-test"},
		{"free.c:284 load.relaxed", "free.load-thread-id", "free-reread"},
		{"segment.c:1287 load.relaxed", "free.load-thread-id", "attempt-reclaim-reread"},
		{"free.c:164 load.relaxed", "reclaim.", "recursive-free"},
		{"arena-abandon.c:178 load.relaxed", "cursor.load-abandoned-count", "cursor-init-count"},
		{"segment.c:1390 load.relaxed", "cursor.load-abandoned-count", "collect-max-tries"},
		{"segment.c:1219 store.release", "reclaim.store-thread-id", "reclaim-store-again"},
		{"internal.h:618 load.relaxed", "malloc.collect-xthread-free", "page-extend"},
		{"page.c:185 load.relaxed", "malloc.collect-xthread-free", "page-extend"},
		{"page.c:189 cas.acq_rel", "malloc.collect-xthread-free", "page-extend"},
		{"internal.h:618 load.relaxed", "check-free.collect-xthread-free", "has-any-available"},
		{"page.c:152 load.acquire", "delayed.use-delayed-free", "delayed-freeing-retry"},
	},
	allocsim.V217: {
		{"internal.h:546 load.relaxed", "", "xheap-read"},
		{"internal.h:551 store.release", "", "xheap-set"},
		{"segment.c:609 load.relaxed", "", "span-free-is-abandoned"},
		{"segment.c:665 load.seq_cst", "", "coalesce-direct-test"},
		{"free.c:247 load.relaxed", "free.load-thread-id", "free-reread"},
		{"segment.c:1260 load.relaxed", "free.load-thread-id", "attempt-reclaim-reread"},
		{"free.c:143 load.relaxed", "reclaim.", "recursive-free"},
		{"segment.c:1194 store.release", "reclaim.store-thread-id", "reclaim-store-again"},
		{"internal.h:537 load.relaxed", "malloc.collect-xthread-free", "page-extend"},
		{"page.c:185 load.relaxed", "malloc.collect-xthread-free", "page-extend"},
		{"page.c:189 cas.acq_rel", "malloc.collect-xthread-free", "page-extend"},
		{"internal.h:537 load.relaxed", "check-free.collect-xthread-free", "has-any-available"},
		{"page.c:152 load.acquire", "delayed.use-delayed-free", "delayed-freeing-retry"},
		{"arena.c:842 load.relaxed", "cursor.load-bitmap", "cursor-bitmap-v217"},
	},
}

// siteKey is a point's key in the site table: "file:line kind".
func siteKey(p Point) string { return p.Site + " " + p.Kind }

// stepSiteOK reports whether point p may make an access of the step with
// the given label at tag src. A label the table does not list for the tag
// is reported by the second result (ok false): the table needs an entry.
func stepSiteOK(src allocsim.Source, label string, p Point) (match, listed bool) {
	if strings.HasPrefix(label, "handoff.") {
		return true, true
	}
	base, _, _ := strings.Cut(label, "+")
	base, _, _ = strings.Cut(base, "~")
	sites, ok := stepSites[src][base]
	if !ok {
		return false, false
	}
	k := siteKey(p)
	for _, s := range sites {
		if s == k {
			return true, true
		}
	}
	return false, true
}

// localWhy returns the name of the site table's reason (LocalReasons) for
// a C point at a model location that ran as local work after the thread's
// step after ("" for none), or "" when the table has none.
func localWhy(src allocsim.Source, p Point, after string) string {
	k := siteKey(p)
	for _, l := range localSites[src] {
		if l.Site == k && (l.After == "" || strings.HasPrefix(after, l.After)) {
			return l.Reason
		}
	}
	return ""
}

// autoSites are the harness's "auto-site" lines for tag src: the local
// sites that the table lets run as local work after any step and that are
// no step's site, so that a follow run needs no scheduling decision there.
func autoSites(src allocsim.Source) []string {
	steps := map[string]bool{}
	for _, sites := range stepSites[src] {
		for _, s := range sites {
			steps[s] = true
		}
	}
	var out []string
	for _, l := range localSites[src] {
		if l.After == "" && !steps[l.Site] {
			out = append(out, "auto-site "+l.Site)
		}
	}
	return out
}
