package main

import (
	"fmt"
	"html"
	"strings"

	"mimcheck/allocsim"
	"mimcheck/model"
	"mimcheck/traces"
)

// showHTML renders a trace as one self-contained page (no network: inline
// style and script): a lane diagram with one column per thread, each step
// under its scenario operation with its C function and the fields it
// changed, the violating step marked; and, for the step selected (the
// violation, or the last step, at first; click a step or use the arrow
// keys), a picture of the state after it: each segment's slices and spans,
// the pages with their blocks and owner heap, every thread's span queues,
// the abandoned set, and what the program holds.
//
// states[k] is the state after step k; states[len(steps)] is unused, init
// is the state before step 0.
func showHTML(tr *traces.Trace, sc *allocsim.Scenario, steps []shownStep, init model.State, states []model.State) string {
	var b strings.Builder
	esc := html.EscapeString
	n := len(sc.Threads)
	sel := len(steps) - 1
	if !tr.End.OK() {
		sel = tr.End.Step
	}
	want := "ok"
	if tr.Expect != "" {
		want = "violation " + tr.Expect
	}
	fmt.Fprintf(&b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>mimcheck trace: %s</title>\n<style>%s</style>\n</head>\n", esc(tr.ScenarioName()), htmlStyle)
	fmt.Fprintf(&b, "<body data-steps=\"%d\" data-selected=\"%d\" data-violation=\"%d\">\n", len(steps), sel, violationStep(tr))
	fmt.Fprintf(&b, "<header><h1>%s</h1>\n<p class=\"config\">mimalloc %s · patches %s · lang %s · abstraction %s · mutant %s · %d steps · expects %s</p>\n",
		esc(tr.ScenarioName()), esc(fmt.Sprint(tr.Source)), esc(fmt.Sprint(tr.Patches)), esc(fmt.Sprint(tr.Lang)), esc(fmt.Sprint(tr.Abstraction)), esc(fmt.Sprint(tr.Mutant)), len(steps), esc(want))
	if !tr.End.OK() {
		fmt.Fprintf(&b, "<p class=\"verdict bad\" id=\"verdict\"><b>violation %s</b> at step %d: %s", esc(tr.End.Invariant), tr.End.Step, esc(tr.End.Detail))
		if doc, ok := invariantDoc(tr.End.Invariant); ok {
			fmt.Fprintf(&b, "<br><span class=\"doc\">%s</span>", esc(doc))
		}
		b.WriteString("</p>\n")
	} else {
		fmt.Fprintf(&b, "<p class=\"verdict good\" id=\"verdict\">no violation after %d steps</p>\n", len(steps))
	}
	b.WriteString("</header>\n<main>\n<section id=\"lanes\"><table class=\"lanes\"><thead><tr><th class=\"k\">step</th>")
	for t := 0; t < n; t++ {
		fmt.Fprintf(&b, "<th class=\"lane\">T%d</th>", t+1)
	}
	b.WriteString("</tr></thead><tbody>\n")
	lastOp := make([]int, n)
	for i := range lastOp {
		lastOp[i] = -1
	}
	row := func(thread int, class, attrs, key, cell string) {
		fmt.Fprintf(&b, "<tr class=\"%s\"%s><td class=\"k\">%s</td>", class, attrs, key)
		for t := 0; t < n; t++ {
			if t == thread {
				fmt.Fprintf(&b, "<td class=\"lane\">%s</td>", cell)
			} else {
				b.WriteString("<td class=\"lane\"></td>")
			}
		}
		b.WriteString("</tr>\n")
	}
	for _, s := range steps {
		if s.op != lastOp[s.thread] {
			for k := lastOp[s.thread] + 1; k < s.op; k++ {
				row(s.thread, "op", "", "", fmt.Sprintf("op %d: %s <span class=\"note\">(no shared access: its work is in the step above)</span>", k+1, esc(opLabel(sc, s.thread, k))))
			}
			lastOp[s.thread] = s.op
			row(s.thread, "op", "", "", fmt.Sprintf("op %d: %s", s.op+1, esc(s.opText)))
		}
		class := "step"
		if !tr.End.OK() && s.k == tr.End.Step {
			class += " violation"
		}
		var cell strings.Builder
		fmt.Fprintf(&cell, "<b>%s</b> <span class=\"mode\">%s</span>", esc(s.st.Label), esc(s.st.Mode))
		if s.st.Cite != "" {
			fmt.Fprintf(&cell, "<div class=\"cite\">%s</div>", esc(s.st.Cite))
		}
		if s.st.Effect != "-" && s.st.Effect != "" {
			cell.WriteString("<div class=\"eff\">")
			for _, e := range strings.Fields(s.st.Effect) {
				fmt.Fprintf(&cell, "<span>%s</span> ", esc(namedValue(e)))
			}
			cell.WriteString("</div>")
		}
		if !tr.End.OK() && s.k == tr.End.Step {
			fmt.Fprintf(&cell, "<div class=\"inv\">⚠ %s</div>", esc(tr.End.Invariant))
		}
		row(s.thread, class, fmt.Sprintf(" id=\"row-%d\" data-step=\"%d\" tabindex=\"0\"", s.k, s.k), fmt.Sprint(s.k), cell.String())
	}
	b.WriteString("</tbody></table></section>\n<section id=\"state\"><h2 id=\"state-title\"></h2>\n")
	fmt.Fprintf(&b, "<div class=\"snap\" id=\"snap--1\" data-title=\"Initial state\" hidden>%s</div>\n", stateHTML(sc, &init))
	for k := range steps {
		title := fmt.Sprintf("State after step %d (T%d %s)", k, steps[k].thread+1, steps[k].st.Label)
		fmt.Fprintf(&b, "<div class=\"snap\" id=\"snap-%d\" data-title=\"%s\" hidden>%s</div>\n", k, esc(title), stateHTML(sc, &states[k]))
	}
	b.WriteString(htmlLegend)
	b.WriteString("</section>\n</main>\n<footer>mimcheck · ")
	fmt.Fprintf(&b, "<code>explore show --format html %s</code> · click a step or use ← → to see the state after it; #step=K in the address selects step K</footer>\n", esc(tr.ScenarioName()))
	fmt.Fprintf(&b, "<script>%s</script>\n</body></html>\n", htmlScript)
	return b.String()
}

func violationStep(tr *traces.Trace) int {
	if tr.End.OK() {
		return -1
	}
	return tr.End.Step
}

// stateHTML draws one state: segments (slices, spans, pages and their
// blocks), span queues, the abandoned set, and the program's blocks.
func stateHTML(sc *allocsim.Scenario, s *model.State) string {
	var b strings.Builder
	esc := html.EscapeString
	owner := func(t model.ThreadID) string {
		if t == model.NoThread {
			return "0"
		}
		return fmt.Sprintf("T%d", t.Index()+1)
	}
	// the span queue holding each free span head: "T1 bin 2"
	inQueue := map[int]string{}
	for i := range sc.Threads {
		for bin, q := range s.Threads[i].Spans {
			for _, x := range queueSlices(s, q) {
				inQueue[x] = fmt.Sprintf("T%d's span queue %d", i+1, bin+1)
			}
		}
	}
	faultSeg := -1
	if s.Fault.Code != 0 {
		faultSeg = int(s.Fault.Seg)
		fmt.Fprintf(&b, "<p class=\"fault\" id=\"fault\">fault: %s by T%d at segment s%d, slice %d</p>", esc(fmt.Sprint(model.FaultCode(s.Fault.Code))), s.Fault.Thread, s.Fault.Seg, s.Fault.Slice)
	}
	b.WriteString("<div class=\"segs\">")
	for g := 0; g < sc.Segments; g++ {
		sg := &s.Segs[g]
		mark := ""
		if g == faultSeg {
			mark = " faulted"
		}
		if !sg.Live {
			fmt.Fprintf(&b, "<div class=\"seg dead%s\" id=\"seg-%d\"><div class=\"seghead\">segment slot s%d: free (no segment)</div></div>", mark, g, g)
			continue
		}
		state := "owned by " + owner(sg.ThreadID)
		class := "seg"
		if sg.ThreadID == model.NoThread {
			state, class = "abandoned (thread_id 0)", "seg abandoned"
		}
		var tags []string
		if s.AbandonedMap&(1<<g) != 0 {
			tags = append(tags, "abandoned bit set")
		}
		if sg.OSListed {
			tags = append(tags, "on the OS abandoned list")
		}
		if sg.Huge {
			tags = append(tags, "huge")
		}
		if sg.OS {
			tags = append(tags, "OS memory")
		}
		if sg.WasReclaimed {
			tags = append(tags, "was_reclaimed")
		}
		if sg.DontFree {
			tags = append(tags, "dont_free")
		}
		if sg.Holder != model.NoThread {
			tags = append(tags, "held by "+owner(sg.Holder))
		}
		fmt.Fprintf(&b, "<div class=\"%s%s\" id=\"seg-%d\"><div class=\"seghead\">segment s%d: %s · used %d · abandoned %d", class, mark, g, g, state, sg.Used, sg.Abandoned)
		for _, t := range tags {
			fmt.Fprintf(&b, " · <span class=\"tag\">%s</span>", esc(t))
		}
		b.WriteString("</div><div class=\"slices\">")
		b.WriteString("<div class=\"span info\" style=\"flex:1\" title=\"slice 0: the segment info\"><div class=\"sp\">info</div></div>")
		for i := 1; i < sc.Slices; {
			p := &s.Slices[g][i]
			count := int(p.SliceCount)
			if count < 1 {
				count = 1
			}
			if i+count > sc.Slices {
				count = sc.Slices - i
			}
			switch {
			case p.BlockSize >= model.BlockPage0:
				c := int(p.BlockSize - model.BlockPage0)
				name, blocks := fmt.Sprintf("class %d", c), model.MaxBlocks
				if c < len(sc.Classes) {
					name, blocks = sc.Classes[c].Name, int(sc.Classes[c].Blocks)
				}
				heap := "no heap"
				if p.Heap != model.NoThread {
					heap = "heap " + owner(p.Heap)
				}
				var flags []string
				if p.InFull {
					flags = append(flags, "FULL")
				}
				if p.Retire != 0 {
					flags = append(flags, fmt.Sprintf("retire_expire %d", p.Retire))
				}
				fmt.Fprintf(&b, "<div class=\"span page\" style=\"flex:%d\" id=\"page-%d-%d\"><div class=\"sp\">page s%d.p%d · %s · %s · used %d · %s", count, g, i, g, i, esc(name), heap, p.Used, delayedNames[fmt.Sprint(uint8(p.Delayed))])
				for _, f := range flags {
					fmt.Fprintf(&b, " · %s", f)
				}
				b.WriteString("</div><div class=\"blocks\">")
				for k := 0; k < blocks && k < model.MaxBlocks; k++ {
					bit := uint8(1) << k
					kind, what := "unused", "not handed out, not on a list"
					switch {
					case p.Live&bit != 0:
						kind, what = "live", "held by the program"
					case p.XThreadFree&bit != 0:
						kind, what = "xfree", "on the page's xthread_free list"
					case p.HeapDelayed&bit != 0:
						kind, what = "hdelayed", "on the heap's thread_delayed_free list"
					case p.Taken&bit != 0:
						kind, what = "taken", "taken off the delayed list, being freed"
					case p.LocalFree&bit != 0:
						kind, what = "lfree", "on local_free"
					case p.Free&bit != 0:
						kind, what = "free", "on the free list"
					}
					fmt.Fprintf(&b, "<span class=\"blk %s\" title=\"block %d: %s\"></span>", kind, k, what)
				}
				b.WriteString("</div></div>")
			case p.BlockSize == model.BlockFree && p.SliceCount > 0:
				q := inQueue[g*model.MaxSlices+i]
				if q == "" {
					q = "in no span queue"
				}
				fmt.Fprintf(&b, "<div class=\"span freespan\" style=\"flex:%d\"><div class=\"sp\">free span s%d.%d · %d slice(s) · %s</div></div>", count, g, i, p.SliceCount, esc(q))
			default:
				fmt.Fprintf(&b, "<div class=\"span other\" style=\"flex:1\"><div class=\"sp\">slice %d</div></div>", i)
				count = 1
			}
			i += count
		}
		b.WriteString("</div></div>")
	}
	b.WriteString("</div>")

	// span queues
	b.WriteString("<div class=\"facts\"><div><h3>Span queues</h3><ul>")
	for i := range sc.Threads {
		var qs []string
		for bin, q := range s.Threads[i].Spans {
			if q.First == 0 {
				continue
			}
			var spans []string
			for _, x := range queueSlices(s, q) {
				spans = append(spans, fmt.Sprintf("s%d.%d", x/model.MaxSlices, x%model.MaxSlices))
			}
			qs = append(qs, fmt.Sprintf("%d: %s", bin+1, strings.Join(spans, " → ")))
		}
		if len(qs) == 0 {
			qs = []string{"empty"}
		}
		fmt.Fprintf(&b, "<li>T%d: %s</li>", i+1, esc(strings.Join(qs, "; ")))
	}
	b.WriteString("</ul></div>")

	// the abandoned set
	var marked []string
	for g := 0; g < sc.Segments; g++ {
		if s.AbandonedMap&(1<<g) != 0 {
			marked = append(marked, fmt.Sprintf("s%d", g))
		}
	}
	if len(marked) == 0 {
		marked = []string{"none"}
	}
	fmt.Fprintf(&b, "<div><h3>Abandoned set</h3><ul><li>bitmap: %s</li><li>abandoned_count: %d</li>", strings.Join(marked, " "), int8(s.AbandonedCount))
	if sc.OSMemory {
		var list []string
		for _, x := range s.OSList {
			if x == 0 {
				break
			}
			list = append(list, fmt.Sprintf("s%d", x-1))
		}
		if len(list) == 0 {
			list = []string{"empty"}
		}
		fmt.Fprintf(&b, "<li>OS list: %s</li><li>os lock: %s, visit lock: %s</li>", strings.Join(list, " → "), owner(model.ThreadID(s.OSListLocked)), owner(model.ThreadID(s.OSVisitLocked)))
	}
	b.WriteString("</ul></div>")

	// what the program holds
	block := func(h uint8) string {
		if h == model.NullHandle {
			return "NULL"
		}
		x := int(h-1) / model.MaxBlocks
		return fmt.Sprintf("s%d.p%d block %d", x/model.MaxSlices, x%model.MaxSlices, int(h-1)%model.MaxBlocks)
	}
	b.WriteString("<div><h3>Program</h3><ul>")
	for i := range sc.Threads {
		var regs []string
		for r, h := range s.Threads[i].Regs {
			if h == 0 {
				continue
			}
			name := fmt.Sprintf("r%d", r)
			if i < len(sc.RegNames) && r < len(sc.RegNames[i]) {
				name = sc.RegNames[i][r]
			}
			regs = append(regs, name+" = "+block(h))
		}
		if len(regs) == 0 {
			regs = []string{"no blocks"}
		}
		fmt.Fprintf(&b, "<li>T%d (next: %s): %s</li>", i+1, esc(sc.OpText(i, int(s.Threads[i].Op))), esc(strings.Join(regs, ", ")))
	}
	for k := 0; k < sc.Mailboxes; k++ {
		if h := s.Mailbox[k]; h != 0 {
			fmt.Fprintf(&b, "<li>m%d holds %s</li>", k, block(h))
		}
	}
	b.WriteString("</ul></div></div>")
	return b.String()
}

// queueSlices returns the global slice indexes of the spans in queue q,
// first to last (at most every slice once: a corrupted queue that loops
// or leaves the arena is cut there).
func queueSlices(s *model.State, q model.SpanQueue) []int {
	var out []int
	for l := q.First; l != 0 && len(out) < model.MaxSegments*model.MaxSlices; {
		x := int(l) - 1
		out = append(out, x)
		g, sl := x/model.MaxSlices, x%model.MaxSlices
		if g >= model.MaxSegments {
			break
		}
		l = s.Slices[g][sl].Next
	}
	return out
}

const htmlLegend = `<p class="legend">blocks: <span class="blk live"></span> held by the program <span class="blk free"></span> free list <span class="blk lfree"></span> local_free <span class="blk xfree"></span> xthread_free <span class="blk hdelayed"></span> heap delayed list <span class="blk taken"></span> being freed from the delayed list <span class="blk unused"></span> none of these</p>
`

const htmlStyle = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
header{padding:12px 20px;background:#fff;border-bottom:1px solid #ddd}
h1{font-size:20px;margin:0 0 4px}
h2{font-size:16px;margin:0 0 8px}
h3{font-size:14px;margin:8px 0 4px}
.config{color:#555;margin:0 0 6px}
.verdict{margin:0;padding:6px 10px;border-radius:4px}
.verdict.bad{background:#fde8e8;border:1px solid #e0a0a0}
.verdict.good{background:#e6f4ea;border:1px solid #9ccca8}
.doc{color:#444}
main{display:flex;gap:16px;padding:12px 20px;align-items:flex-start}
#lanes{flex:0 0 auto;max-height:calc(100vh - 140px);overflow:auto;background:#fff;border:1px solid #ddd}
#state{flex:1 1 auto;min-width:420px;position:sticky;top:8px}
table.lanes{border-collapse:collapse}
table.lanes th{position:sticky;top:0;background:#eee;padding:4px 8px;text-align:left}
td.k{color:#888;text-align:right;padding:2px 6px;vertical-align:top}
td.lane{width:260px;padding:2px 8px;vertical-align:top;border-left:1px solid #eee}
tr.op td.lane:not(:empty){color:#0a4fa0;font-weight:600;border-top:1px solid #cfe0f5;padding-top:6px}
tr.step{cursor:pointer}
tr.step:hover{background:#f3f6fb}
tr.step.selected{background:#e3ecfa}
tr.step.violation{background:#fde8e8}
tr.step.violation.selected{background:#f9cfcf;outline:2px solid #c0392b}
.mode{color:#777;font-size:12px}
.cite{color:#666;font-size:12px}
.eff span{font:12px monospace;color:#333;background:#f2f2f2;padding:0 3px;border-radius:2px}
.inv{color:#c0392b;font-weight:700}
.note{color:#888;font-weight:400}
.seg{background:#fff;border:1px solid #bbb;border-radius:4px;margin:0 0 10px;padding:6px}
.seg.abandoned{border-color:#d08000;background:#fff8ec}
.seg.dead{color:#999;border-style:dashed}
.seg.faulted{outline:3px solid #c0392b;color:#1d1d1f}
.fault{color:#c0392b;font-weight:700;margin:0 0 6px}
.seghead{font-weight:600;margin-bottom:4px}
.tag{background:#eee;border-radius:3px;padding:0 4px;font-weight:400}
.slices{display:flex;gap:3px}
.span{border:1px solid #999;border-radius:3px;padding:3px;min-height:48px;font-size:12px}
.span.info{background:#e8e8e8}
.span.page{background:#eaf2ff;border-color:#5b8def}
.span.freespan{background:repeating-linear-gradient(45deg,#fff,#fff 6px,#f0f0f0 6px,#f0f0f0 12px)}
.blocks{margin-top:3px}
.blk{display:inline-block;width:14px;height:14px;margin:1px;border:1px solid #555;border-radius:2px;vertical-align:middle}
.blk.live{background:#1d4e89}.blk.free{background:#fff}.blk.lfree{background:#cde7cf}
.blk.xfree{background:#f0a030}.blk.hdelayed{background:#9b59b6}.blk.taken{background:#e74c3c}.blk.unused{background:#ddd}
.facts{display:flex;gap:24px;flex-wrap:wrap}
.facts ul{margin:0;padding-left:18px}
.legend{font-size:12px;color:#555}
footer{padding:8px 20px;color:#777;font-size:12px}
`

const htmlScript = `
(function(){
  var body=document.body, n=+body.dataset.steps;
  function select(k){
    if(k<-1||k>=n)return;
    var old=document.querySelector("tr.step.selected"); if(old)old.classList.remove("selected");
    var snaps=document.querySelectorAll(".snap"); for(var i=0;i<snaps.length;i++)snaps[i].hidden=true;
    var snap=document.getElementById("snap-"+k); snap.hidden=false;
    document.getElementById("state-title").textContent=snap.dataset.title;
    var row=document.getElementById("row-"+k); if(row){row.classList.add("selected");}
    body.dataset.selected=k;
  }
  document.querySelector("table.lanes").addEventListener("click",function(e){
    var tr=e.target.closest("tr.step"); if(tr)select(+tr.dataset.step);
  });
  document.addEventListener("keydown",function(e){
    var k=+body.dataset.selected;
    if(e.key==="ArrowDown"||e.key==="ArrowRight"){select(k+1);e.preventDefault();}
    if(e.key==="ArrowUp"||e.key==="ArrowLeft"){select(k-1);e.preventDefault();}
  });
  var m=/^#step=(-?\d+)$/.exec(location.hash);
  select(m?+m[1]:+body.dataset.selected);
  window.addEventListener("hashchange",function(){var m=/^#step=(-?\d+)$/.exec(location.hash);if(m)select(+m[1]);});
  var lanes=document.getElementById("lanes"), row=document.getElementById("row-"+body.dataset.selected);
  if(row)lanes.scrollTop=Math.max(0,row.offsetTop-lanes.clientHeight/2);
})();
`
