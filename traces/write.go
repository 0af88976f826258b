package traces

import (
	"bytes"
	"mimcheck/allocsim"
	"mimcheck/model"
	"strconv"
	"strings"
)

// Separator is the line between the header and the steps of a trace (the
// datadriven convention).
const Separator = "----"

// Format renders tr in the trace file format:
//
//	# found by: explore run --scenario S1 --mutant BUG_B
//	mimcheck-trace 2
//	model rev=2
//	scenario S1                     (or: scenario-file NAME, scenario-begin, the text, scenario-end)
//	s3-rounds 12                    (builtin S3 only)
//	source v2.4.1
//	patches none                    (none, or a comma list of A, B, C)
//	lang c11
//	mutant BUG_B
//	abstraction full
//	strategy dfs                    (or random, followed by: seed N)
//	expect violation span-queue-membership      (or: expect ok)
//	----
//	0 T1 segment-alloc.claim-slot mode=acq_rel cite="segment.c: mi_segment_alloc" | seg0.live=0->1 ...
//	...
//	violation span-queue-membership at step 5: DETAIL          (or: end ok)
//
// The output holds no timestamp and depends only on tr, so identical runs
// give byte-identical files, and Format(Parse(Format(tr))) == Format(tr).
func Format(tr *Trace) []byte {
	var b bytes.Buffer
	line := func(parts ...string) {
		for _, p := range parts {
			b.WriteString(p)
		}
		b.WriteByte('\n')
	}
	for _, c := range tr.Comments {
		line("#", oneLine(c))
	}
	line("mimcheck-trace ", strconv.Itoa(FormatVersion))
	line("model rev=", strconv.Itoa(ModelRev))
	if tr.Builtin() {
		line("scenario ", tr.Scenario)
		if strings.EqualFold(tr.Scenario, "S3") {
			line("s3-rounds ", strconv.Itoa(tr.Rounds))
		}
	} else {
		line("scenario-file ", oneLine(tr.ScenarioFile))
		line("scenario-begin")
		b.WriteString(tr.ScenarioText)
		if !strings.HasSuffix(tr.ScenarioText, "\n") {
			b.WriteByte('\n')
		}
		line("scenario-end")
	}
	line("source ", tr.Source.String())
	line("patches ", tr.Patches.String())
	line("lang ", tr.Lang.String())
	line("mutant ", tr.Mutant.String())
	line("abstraction ", tr.Abstraction.String())
	if tr.HarmfulPublish {
		line("publish-check ", "harmful")
	}
	if tr.Retention {
		line("retention ", "on")
	}
	if !tr.NoMemory && tr.Abstraction == allocsim.Full {
		line("memory ", tr.Memory.String())
	}
	for _, k := range tr.IgnoreRaces {
		line("ignore-race ", k)
	}
	for _, k := range tr.PastFaults {
		line("past-fault ", k)
	}
	for _, k := range tr.PastInvariants {
		line("past-invariant ", k)
	}
	line("strategy ", tr.Strategy)
	if Seeded(tr.Strategy) {
		line("seed ", strconv.FormatUint(tr.Seed, 10))
	}
	if tr.Expect == "" {
		line("expect ok")
	} else {
		line("expect violation ", tr.Expect)
	}
	line(Separator)
	for k, st := range tr.Steps {
		b.WriteString(strconv.Itoa(k))
		b.WriteString(" T")
		b.WriteString(strconv.Itoa(st.Thread%model.MaxThreads + 1))
		b.WriteByte(' ')
		b.WriteString(st.Label)
		if st.Mode != "" {
			b.WriteString(" mode=")
			b.WriteString(st.Mode)
		}
		if st.Cite != "" {
			b.WriteString(" cite=")
			b.WriteString(strconv.Quote(st.Cite))
		}
		if st.Effect != "" {
			b.WriteString(" | ")
			b.WriteString(oneLine(st.Effect))
		}
		b.WriteByte('\n')
	}
	line(endLine(tr.End))
	return b.Bytes()
}

// endLine renders the final line of a trace.
func endLine(o Outcome) string {
	if o.OK() {
		return "end ok"
	}
	return o.String() + ": " + oneLine(o.Detail)
}
