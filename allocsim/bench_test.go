package allocsim_test

// Throughput benchmarks of the exploration engines on the real model
// (issue "Exploration at scale"). Run with
//
//	go test -run XXX -bench . -benchtime 1x ./allocsim/
//
// and profile with -cpuprofile. S3 with rounds=12 (7,629,471 states) is
// only run when -bench names it explicitly (BenchmarkExhaustiveS3R12Spin).

import (
	"context"
	"fmt"
	"testing"

	"mimcheck/allocsim"
	"mimcheck/model"
	"mimcheck/sched"
	"mimcheck/traces"
)

func benchSys(b *testing.B, name string, rounds int) traces.System {
	b.Helper()
	sc, err := allocsim.BuiltinScenario(name, rounds)
	if err != nil {
		b.Fatal(err)
	}
	m, err := allocsim.New(allocsim.Config{Scenario: sc, Abstraction: allocsim.SpinAbs})
	if err != nil {
		b.Fatal(err)
	}
	return traces.NewSystem(m)
}

func benchExhaustive(b *testing.B, name string, rounds int, opts []sched.Options) {
	sys := benchSys(b, name, rounds)
	for _, opt := range opts {
		b.Run(fmt.Sprintf("fp%d-workers%d", opt.Fingerprint, opt.Workers), func(b *testing.B) {
			var r sched.Result
			for i := 0; i < b.N; i++ {
				r = sched.Exhaustive[model.State](context.Background(), sys, sched.NoLimits(), opt)
			}
			if r.Verdict != sched.OK {
				b.Fatalf("verdict %v", r.Verdict)
			}
			sec := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(float64(r.States)/sec, "states/s")
			b.ReportMetric(float64(r.Transitions)/sec, "trans/s")
			b.ReportMetric(float64(r.States), "states")
			b.ReportMetric(float64(r.Transitions), "transitions")
			b.ReportMetric(r.BytesPerState, "B/state")
			b.ReportMetric(float64(r.PeakStackStates), "peak-stack")
		})
	}
}

var benchOpts = []sched.Options{
	{Workers: 1},
	{Workers: 2},
}

// BenchmarkExhaustiveS3R0Spin: S3 rounds=0, spin abstraction (293,849 states).
func BenchmarkExhaustiveS3R0Spin(b *testing.B) {
	benchExhaustive(b, "S3", 0, append(benchOpts, sched.Options{Workers: 1, Fingerprint: 128}))
}

// BenchmarkExhaustiveS3R12Spin: the reference workload (7,629,471 states,
// 20,980,648 transitions).
func BenchmarkExhaustiveS3R12Spin(b *testing.B) {
	if testing.Short() {
		b.Skip("long")
	}
	benchExhaustive(b, "S3", 12, benchOpts)
}

// BenchmarkStepThroughput measures raw Enabled+Step calls per second along
// deterministic pseudo-random paths, without Check, Encode or a visited set.
func BenchmarkStepThroughput(b *testing.B) {
	for _, name := range []string{"S1", "S3"} {
		b.Run(name, func(b *testing.B) {
			sys := benchSys(b, name, 12)
			init := sys.Init()
			s := init
			en := make([]int, 0, 16)
			x := uint64(1)
			steps := 0
			for i := 0; i < b.N; i++ {
				for k := 0; k < 1000; k++ {
					en = sys.Enabled(&s, en[:0])
					if len(en) == 0 {
						s = init
						continue
					}
					x = x*6364136223846793005 + 1442695040888963407
					sys.Step(&s, en[(x>>33)%uint64(len(en))])
					steps++
				}
			}
			b.ReportMetric(float64(steps)/b.Elapsed().Seconds(), "steps/s")
		})
	}
}

// BenchmarkCheckEncode measures the per-state cost of Check and Encode.
func BenchmarkCheckEncode(b *testing.B) {
	sys := benchSys(b, "S3", 12)
	s := sys.Init()
	en := sys.Enabled(&s, nil)
	for k := 0; k < 20 && len(en) > 0; k++ {
		sys.Step(&s, en[k%len(en)])
		en = sys.Enabled(&s, en[:0])
	}
	b.Run("check", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			_ = sys.Check(&s)
		}
	})
	var buf []byte
	b.Run("encode", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			buf = sys.Encode(&s, buf[:0])
		}
		b.ReportMetric(float64(len(buf)), "bytes")
	})
	b.Run("copy", func(b *testing.B) {
		var t model.State
		for i := 0; i < b.N; i++ {
			t = s
		}
		_ = t
	})
}

// BenchmarkBFSS3R0Spin: the breadth-first engine on S3 rounds=0 with 1 and
// 2 workers (Exhaustive with Workers >= 2 runs it too).
func BenchmarkBFSS3R0Spin(b *testing.B) {
	sys := benchSys(b, "S3", 0)
	for _, w := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers%d", w), func(b *testing.B) {
			var r sched.Result
			// ProgressEvery 1: one call per level, to report the level shape.
			levels, widest, small := 0, int64(0), 0
			opt := sched.Options{Workers: w, ProgressEvery: 1, Progress: func(p sched.Progress) {
				levels++
				widest = max(widest, p.Frontier)
				if p.Frontier < 4*64 {
					small++
				}
			}}
			for i := 0; i < b.N; i++ {
				levels, widest, small = 0, 0, 0
				r = sched.BFS[model.State](context.Background(), sys, sched.NoLimits(), opt)
			}
			b.ReportMetric(float64(levels), "levels")
			b.ReportMetric(float64(widest), "widest")
			b.ReportMetric(float64(small), "levels<256")
			sec := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(float64(r.States)/sec, "states/s")
			b.ReportMetric(float64(r.Transitions)/sec, "trans/s")
			b.ReportMetric(float64(r.PeakStackStates), "peak-stack")
		})
	}
}
