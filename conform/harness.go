package conform

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Point is where a scenario thread of the harness waits: the shared access
// it makes when it runs next (KIND at ADDR, from FILE:LINE of mimalloc's
// code), or its end.
type Point struct {
	Thread int
	Done   bool
	Kind   string // e.g. "load.relaxed", "cas.release", "send-m0"
	Addr   string // "sN+0xOFF" inside segment slot N, "-" elsewhere
	Site   string // "segment.c:1140"
	Op     int    // the index of the thread's operation in progress (its program length when done)
}

func (p Point) String() string {
	if p.Done {
		return fmt.Sprintf("T%d done", p.Thread+1)
	}
	return fmt.Sprintf("T%d %s %s %s", p.Thread+1, p.Kind, p.Addr, p.Site)
}

// Mailbox returns the mailbox of a send or recv point and whether the
// point is a send (ok is false for other points).
func (p Point) Mailbox() (k int, send bool, ok bool) {
	kind, m, found := strings.Cut(p.Kind, "-m")
	if !found || (kind != "send" && kind != "recv") {
		return 0, false, false
	}
	n, err := strconv.Atoi(m)
	if err != nil {
		return 0, false, false
	}
	return n, kind == "send", true
}

// Harness is a running harness process.
type Harness struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	outF   *os.File // the stdout pipe, for read deadlines
	stderr *bytes.Buffer
	// Skipped collects the points the harness ran without a scheduling
	// decision (config line "auto-local": points outside the model's
	// state), in order; the caller drains it.
	Skipped []Point
	// Timeout bounds the wait for one reply (a thread that never reaches
	// its next point: a hang in the C code or a lock it cannot get).
	Timeout time.Duration
}

// ErrCrash reports that the harness process ended unexpectedly: an
// assertion of mimalloc's debug build, an AddressSanitizer report, or a
// signal. Its text carries the first lines of the process's stderr.
var ErrCrash = errors.New("the C code stopped")

// Start runs the harness binary with the configuration lines and returns
// it with every thread at its first point.
func Start(bin string, config []string) (*Harness, []Point, error) {
	cmd := exec.Command(bin)
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	outF, ok := out.(*os.File)
	if !ok {
		return nil, nil, fmt.Errorf("the harness's stdout pipe is a %T, not a file", out)
	}
	h := &Harness{cmd: cmd, in: in, out: bufio.NewReader(outF), outF: outF, stderr: &bytes.Buffer{}, Timeout: 20 * time.Second}
	cmd.Stderr = h.stderr
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	for _, l := range config {
		if _, err := io.WriteString(in, l+"\n"); err != nil {
			return nil, nil, h.crash(err)
		}
	}
	if _, err := io.WriteString(in, "start\n"); err != nil {
		return nil, nil, h.crash(err)
	}
	l, err := h.line()
	if err != nil {
		return nil, nil, err
	}
	if l != "ready" {
		return nil, nil, h.crash(fmt.Errorf("harness said %q, want ready", l))
	}
	n := 0
	for _, c := range config {
		if strings.HasPrefix(c, "thread ") {
			n++
		}
	}
	pts := make([]Point, n)
	for i := range pts {
		if pts[i], err = h.point(); err != nil {
			return nil, nil, err
		}
	}
	return h, pts, nil
}

// point reads the next point line ("at" or "done"), collecting the "skip"
// lines before it in Skipped.
func (h *Harness) point() (Point, error) {
	for {
		l, err := h.line()
		if err != nil {
			return Point{}, err
		}
		if rest, ok := strings.CutPrefix(l, "skip "); ok {
			p, err := parsePoint("at " + rest)
			if err != nil {
				return Point{}, h.crash(err)
			}
			h.Skipped = append(h.Skipped, p)
			continue
		}
		p, err := parsePoint(l)
		if err != nil {
			return Point{}, h.crash(err)
		}
		return p, nil
	}
}

// Run lets thread i make its pending access and run to its next point.
func (h *Harness) Run(i int) (Point, error) {
	if _, err := fmt.Fprintf(h.in, "run %d\n", i); err != nil {
		return Point{}, h.crash(err)
	}
	p, err := h.point()
	if err != nil {
		return Point{}, err
	}
	if p.Thread != i {
		return Point{}, h.crash(fmt.Errorf("asked T%d to run, T%d answered", i+1, p.Thread+1))
	}
	return p, nil
}

// State returns the harness's state line (segment slots: owner/used/abandoned).
func (h *Harness) State() (string, error) {
	if _, err := io.WriteString(h.in, "state\n"); err != nil {
		return "", h.crash(err)
	}
	return h.line()
}

// Close ends the harness.
func (h *Harness) Close() error {
	io.WriteString(h.in, "quit\n")
	h.in.Close()
	done := make(chan error, 1)
	go func() { done <- h.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		h.cmd.Process.Kill()
		<-done
	}
	return nil
}

// Kill stops the harness at once.
func (h *Harness) Kill() {
	if h.cmd.Process != nil {
		h.cmd.Process.Kill()
	}
	h.cmd.Wait()
}

func (h *Harness) line() (string, error) {
	// the pipe supports deadlines (Go's poller): one reply costs no
	// goroutine and no timer
	if err := h.outF.SetReadDeadline(time.Now().Add(h.Timeout)); err != nil {
		return "", h.crash(err)
	}
	s, err := h.out.ReadString('\n')
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		h.Kill()
		return "", h.hang()
	case err != nil:
		return "", h.crash(err)
	}
	return strings.TrimRight(s, "\n"), nil
}

func (h *Harness) hang() error {
	return fmt.Errorf("the C code did not reach its next point within %s (a hang, or a lock that is never released)", h.Timeout)
}

// crash waits for the process and describes how it ended.
func (h *Harness) crash(cause error) error {
	h.in.Close()
	done := make(chan error, 1)
	go func() { done <- h.cmd.Wait() }()
	var werr error
	select {
	case werr = <-done:
	case <-time.After(5 * time.Second):
		h.cmd.Process.Kill()
		werr = <-done
	}
	msg := strings.TrimSpace(h.stderr.String())
	if msg == "" && werr != nil {
		msg = werr.Error()
	}
	if msg == "" {
		msg = cause.Error()
	}
	return fmt.Errorf("%w: %s", ErrCrash, firstLines(msg, 4))
}

func parsePoint(l string) (Point, error) {
	f := strings.Fields(l)
	op := func(s string) (int, error) {
		v, ok := strings.CutPrefix(s, "op=")
		if !ok {
			return 0, fmt.Errorf("harness said %q", l)
		}
		return strconv.Atoi(v)
	}
	switch {
	case len(f) == 3 && f[0] == "done":
		i, err := strconv.Atoi(f[1])
		if err != nil {
			return Point{}, err
		}
		k, err := op(f[2])
		return Point{Thread: i, Done: true, Op: k}, err
	case len(f) == 6 && f[0] == "at":
		i, err := strconv.Atoi(f[1])
		if err != nil {
			return Point{}, err
		}
		k, err := op(f[5])
		return Point{Thread: i, Kind: f[2], Addr: f[3], Site: f[4], Op: k}, err
	}
	return Point{}, fmt.Errorf("harness said %q", l)
}
