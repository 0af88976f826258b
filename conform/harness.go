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
	"sync"
	"sync/atomic"
	"syscall"
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

// Harness is one run of a scenario on the C code: a child process that a
// harness server (one process per build and configuration, kept between
// runs) forks with mimalloc initialised and the configuration read, so a
// run costs a fork rather than a process start.
type Harness struct {
	srv   *server
	ended bool // the child has ended and its end was read
	// Skipped collects the points the harness ran without a scheduling
	// decision (config line "auto-local": points outside the model's
	// state), in order; the caller drains it.
	Skipped []Point
	// Timeout bounds the wait for one reply (a thread that never reaches
	// its next point: a hang in the C code or a lock it cannot get).
	Timeout time.Duration
}

// server is a harness process that has read a configuration and forks
// one child per run.
type server struct {
	key    string
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	outF   *os.File // the stdout pipe (blocking)
	stderr *bytes.Buffer
	timer  *time.Timer // armed while a reply is awaited: kills a hung run
	hung   atomic.Bool
}

// servers keeps idle harness servers for the next run with the same
// build and configuration (at most maxIdleServers; the oldest goes first).
var servers struct {
	sync.Mutex
	idle []*server
}

const maxIdleServers = 8

func takeServer(bin string, config []string) (*server, error) {
	key := bin + "\x00" + strings.Join(config, "\n")
	servers.Lock()
	for k := len(servers.idle) - 1; k >= 0; k-- {
		if s := servers.idle[k]; s.key == key {
			servers.idle = append(servers.idle[:k], servers.idle[k+1:]...)
			servers.Unlock()
			return s, nil
		}
	}
	servers.Unlock()
	cmd := exec.Command(bin)
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	// replies come through a blocking pipe: a read waits in the kernel
	// and wakes as soon as the C code writes (Go's poller would add a
	// scheduler round to every reply); a timer kills a hung run
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
		return nil, err
	}
	outF, w := os.NewFile(uintptr(p[0]), "harness-stdout"), os.NewFile(uintptr(p[1]), "harness-stdout-w")
	s := &server{key: key, cmd: cmd, in: in, out: bufio.NewReader(outF), outF: outF, stderr: &bytes.Buffer{}}
	cmd.Stdout = w
	cmd.Stderr = s.stderr
	err = cmd.Start()
	w.Close()
	if err != nil {
		outF.Close()
		return nil, err
	}
	s.timer = time.AfterFunc(time.Hour, func() {
		s.hung.Store(true)
		s.cmd.Process.Kill()
	})
	s.timer.Stop()
	var b strings.Builder
	for _, l := range config {
		b.WriteString(l + "\n")
	}
	if _, err := io.WriteString(in, b.String()); err != nil {
		s.kill()
		return nil, fmt.Errorf("%w: %s", ErrCrash, err)
	}
	return s, nil
}

// putServer keeps an idle server for the next run.
func putServer(s *server) {
	servers.Lock()
	servers.idle = append(servers.idle, s)
	var old *server
	if len(servers.idle) > maxIdleServers {
		old = servers.idle[0]
		servers.idle = servers.idle[1:]
	}
	servers.Unlock()
	if old != nil {
		old.in.Close() // it ends at the end of its input
		go func() { old.cmd.Wait(); old.outF.Close() }()
	}
}

func (s *server) kill() {
	s.timer.Stop()
	if s.cmd.Process != nil {
		s.cmd.Process.Kill() // a running child dies with it (PR_SET_PDEATHSIG)
	}
	s.cmd.Wait()
	s.outF.Close()
}

// ErrCrash reports that the harness process ended unexpectedly: an
// assertion of mimalloc's debug build, an AddressSanitizer report, or a
// signal. Its text carries the first lines of the process's stderr.
var ErrCrash = errors.New("the C code stopped")

// Start forks a run of the harness configured with the configuration
// lines and returns it with every thread at its first point.
func Start(bin string, config []string) (*Harness, []Point, error) {
	srv, err := takeServer(bin, config)
	if err != nil {
		return nil, nil, err
	}
	h := &Harness{srv: srv, Timeout: 20 * time.Second}
	if _, err := io.WriteString(srv.in, "fork\n"); err != nil {
		return nil, nil, h.serverDied(err)
	}
	l, err := h.line()
	if err != nil {
		return nil, nil, err
	}
	if l != "ready" {
		return nil, nil, h.unexpected(l, "ready")
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
				return Point{}, h.unexpected(l, "a point")
			}
			h.Skipped = append(h.Skipped, p)
			continue
		}
		p, err := parsePoint(l)
		if err != nil {
			return Point{}, h.unexpected(l, "a point")
		}
		return p, nil
	}
}

// Run lets thread i make its pending access and run to its next point.
func (h *Harness) Run(i int) (Point, error) {
	if err := h.send(fmt.Sprintf("run %d\n", i)); err != nil {
		return Point{}, err
	}
	p, err := h.point()
	if err != nil {
		return Point{}, err
	}
	if p.Thread != i {
		return Point{}, h.protocol(fmt.Errorf("asked T%d to run, T%d answered", i+1, p.Thread+1))
	}
	return p, nil
}

// State returns the harness's state line (segment slots: owner/used/abandoned).
func (h *Harness) State() (string, error) {
	if err := h.send("state\n"); err != nil {
		return "", err
	}
	l, err := h.line()
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(l, "state") {
		return "", h.unexpected(l, "a state")
	}
	return l, nil
}

// Close ends the run; its server waits for the next one.
func (h *Harness) Close() error {
	if h.srv == nil {
		return nil
	}
	if !h.ended {
		if err := h.send("end\n"); err != nil {
			return nil
		}
		for !h.ended {
			l, err := h.line()
			if err != nil {
				return nil
			}
			h.ended = strings.HasPrefix(l, "ended ")
		}
	}
	putServer(h.srv)
	h.srv = nil
	return nil
}

// Kill stops the run and its server at once.
func (h *Harness) Kill() {
	if h.srv != nil {
		h.srv.kill()
		h.srv = nil
	}
}

func (h *Harness) send(cmd string) error {
	if h.srv == nil {
		return fmt.Errorf("%w: the run has ended", ErrCrash)
	}
	if _, err := io.WriteString(h.srv.in, cmd); err != nil {
		return h.serverDied(err)
	}
	return nil
}

func (h *Harness) line() (string, error) {
	if h.srv == nil {
		return "", fmt.Errorf("%w: the run has ended", ErrCrash)
	}
	srv := h.srv
	srv.timer.Reset(h.Timeout)
	s, err := srv.out.ReadString('\n')
	srv.timer.Stop()
	switch {
	case srv.hung.Load():
		h.Kill()
		return "", h.hang()
	case err != nil:
		return "", h.serverDied(err)
	}
	return strings.TrimRight(s, "\n"), nil
}

// unexpected handles a line that is not the reply asked for: the child's
// end (its stderr lines, then how it ended) is a crash of the C code;
// anything else breaks the protocol.
func (h *Harness) unexpected(l, want string) error {
	if !strings.HasPrefix(l, "err ") && !strings.HasPrefix(l, "ended ") {
		return h.protocol(fmt.Errorf("harness said %q, want %s", l, want))
	}
	var msg []string
	for {
		if rest, ok := strings.CutPrefix(l, "err "); ok {
			msg = append(msg, rest)
		} else if rest, ok := strings.CutPrefix(l, "ended "); ok {
			h.ended = true
			if strings.TrimSpace(strings.Join(msg, "\n")) == "" {
				msg = []string{endText(rest)}
			}
			return fmt.Errorf("%w: %s", ErrCrash, firstLines(strings.TrimSpace(strings.Join(msg, "\n")), 4))
		} else {
			return h.protocol(fmt.Errorf("harness said %q after its run ended", l))
		}
		var err error
		if l, err = h.line(); err != nil {
			return err
		}
	}
}

// endText says how a child ended as os/exec does ("exit status 4",
// "signal: aborted").
func endText(s string) string {
	f := strings.Fields(s)
	if len(f) == 2 {
		if n, err := strconv.Atoi(f[1]); err == nil {
			if f[0] == "signal" {
				return "signal: " + syscall.Signal(n).String()
			}
			return "exit status " + f[1]
		}
	}
	return s
}

func (h *Harness) protocol(cause error) error {
	h.Kill()
	return fmt.Errorf("%w: %s", ErrCrash, cause)
}

func (h *Harness) hang() error {
	return fmt.Errorf("the C code did not reach its next point within %s (a hang, or a lock that is never released)", h.Timeout)
}

// serverDied describes how the server process ended (its own errors: bad
// configuration, a failed fork).
func (h *Harness) serverDied(cause error) error {
	srv := h.srv
	h.srv = nil
	if srv == nil {
		return fmt.Errorf("%w: %s", ErrCrash, cause)
	}
	srv.in.Close()
	done := make(chan error, 1)
	go func() { done <- srv.cmd.Wait() }()
	var werr error
	select {
	case werr = <-done:
	case <-time.After(5 * time.Second):
		srv.cmd.Process.Kill()
		werr = <-done
	}
	srv.timer.Stop()
	srv.outF.Close()
	msg := strings.TrimSpace(srv.stderr.String())
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
