/* mimcheck conformance harness: runs a scenario's threads on mimalloc's own
   C code, one thread at a time, under a schedule given on stdin.

   Built by conform/build.go together with a copy of one mimalloc tag
   (src/static.c) whose include/mimalloc/atomic.h has a generated block
   appended (see build.go): every mi_atomic_* operation, every lock
   operation and a few direct accesses to _Atomic fields call mc_point
   before they happen. The scenario's threads are real pthreads; exactly one
   of them runs at a time and holds the baton: a thread that reaches a
   point reports it and serves the driver's commands itself until the
   schedule names a thread to run (itself: it runs on with no hand-over;
   another: it hands the baton over and waits). So the same schedule gives
   the same run, byte for byte.

   Protocol (lines; stdin from the Go driver, stdout back):
     configuration: segments N | slices N | memory os | class K SLICES BLOCKS |
          option NAME VALUE | auto-local | auto-site FILE:LINE KIND |
          thread T OP... (ops: mR=K free:fR send:R>K recv:R<K collect
          force init exit)
     then: start (one run in this process) or fork (one run in a forked
          child; fork again for the next run, quit to end)
     a run: in: run T | state | end;
          out: ready | at T KIND ADDR FILE:LINE op=K | skip ... | done T op=K | state ...
     after a forked run: err LINE (the child's stderr) ... | ended exit N | ended signal N
   A point's KIND is load/store/cas/xchg/rmw/lock/trylock/unlock/send/recv
   with its memory order; ADDR is sN+0xOFF inside segment slot N of the
   scenario's arena, or "-" elsewhere. This file is mimcheck's own code; no
   mimalloc code is copied into it. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <stdbool.h>
#include <errno.h>
#include <signal.h>
#include <unistd.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "mimalloc.h"
#include "mimalloc/internal.h"
#include "mc_hook.h"

#define MC_MAX_THREADS 4
#define MC_MAX_OPS 256
#define MC_MAX_REGS 8
#define MC_MAX_MBOX 6
#define MC_MAX_CLASSES 8

/* OP_KEEPFREE and OP_POKE are not scenario operations: tests use them as
   hand-made defects (a free that keeps the pointer, a write through it) */
typedef enum { OP_MALLOC, OP_FREE, OP_SEND, OP_RECV, OP_COLLECT, OP_FORCE, OP_INIT, OP_EXIT, OP_KEEPFREE, OP_POKE } op_kind_t;
typedef struct { op_kind_t kind; int reg; int arg; } op_t;

typedef struct {
  pthread_t th;
  int nops;
  op_t ops[MC_MAX_OPS];
  void* regs[MC_MAX_REGS];
  bool done;
  /* the pending point */
  int kind;
  const void* addr;
  const char* file;
  int line;
  int mbox;
  int op;      /* the index of the operation in progress */
} mc_thread_t;

static mc_thread_t threads[MC_MAX_THREADS];
static int nthreads;
static size_t class_size[MC_MAX_CLASSES];
static void* mailbox[MC_MAX_MBOX];
static bool mailbox_full[MC_MAX_MBOX];
static int nsegments = 1, nslices = 0;
size_t mc_segment_slices = 0;   /* read by the patched mi_segment_alloc */
static mi_arena_id_t arena_id;
/* memory os: segments come from the OS, not from an arena; they get slot
   numbers as the model's do (the first free slot, in allocation order) */
static bool os_mode;
static mi_segment_t* os_segs[16];

#if defined(__SANITIZE_ADDRESS__)
__attribute__((no_sanitize_address))
#endif
static bool os_seg_live(mi_segment_t* seg) {
  /* an interior address: _mi_ptr_segment maps p - 1, so the segment's own
     address would name the segment before it */
  return seg != NULL && mi_is_in_heap_region((const uint8_t*)seg + 1);
}

/* the slot of the OS segment holding p, registering it on first sight;
   -1 when p is in no segment */
#if defined(__SANITIZE_ADDRESS__)
__attribute__((no_sanitize_address))
#endif
static int os_slot(const void* p) {
  if (!os_mode || p == NULL || !mi_is_in_heap_region(p)) return -1;
  mi_segment_t* seg = _mi_ptr_segment(p);
  for (int g = 0; g < nsegments && g < 16; g++) if (os_segs[g] == seg && os_seg_live(seg)) return g;
  for (int g = 0; g < nsegments && g < 16; g++) {
    if (!os_seg_live(os_segs[g])) { os_segs[g] = seg; return g; }
  }
  return -1;
}
static uint8_t* arena_start;
static size_t arena_size;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
/* one condition variable per scenario thread: a hand-over wakes exactly
   the thread that runs next */
static pthread_cond_t tcv[MC_MAX_THREADS];
static mi_heap_t* heaps[MC_MAX_THREADS]; /* each scenario thread's default heap, as of its last point */
static int current = -1;           /* the thread holding the baton; -1: none yet */
/* auto-local (config line "auto-local"): a point outside the model's state
   (print_addr's "-") does not pause its thread; it is reported as a "skip"
   line and the thread runs on. The follow modes run such points as local
   work anyway; this saves a round trip per point. */
static bool auto_local;
static __thread bool mc_naming; /* inside addr_name on a scenario thread */
/* auto-site FILE:LINE KIND (config lines): sites at model locations that
   the site table lets run as local work wherever they occur; with
   auto-local they do not pause their thread either */
static struct { char file[48]; int line; char kind[24]; } auto_sites[32];
static int n_auto_sites;
static void addr_name(const void* a, char* buf, size_t n);
static const char* base_name(const char* f);
static const char* kind_name(int k);
static __thread int mc_self = -1;  /* this thread's scenario index; -1: not a scenario thread */

static const char* kind_name(int k) {
  static char buf[64];
  const char* op = "?";
  switch (k & MC_OP_MASK) {
    case MC_LOAD: op = "load"; break;
    case MC_STORE: op = "store"; break;
    case MC_CAS: op = "cas"; break;
    case MC_XCHG: op = "xchg"; break;
    case MC_RMW: op = "rmw"; break;
    case MC_LOCK: op = "lock"; break;
    case MC_TRYLOCK: op = "trylock"; break;
    case MC_UNLOCK: op = "unlock"; break;
    case MC_SEND: op = "send"; break;
    case MC_RECV: op = "recv"; break;
  }
  const char* mo = "";
  switch (k & MC_MO_MASK) {
    case MC_RELAXED: mo = ".relaxed"; break;
    case MC_ACQUIRE: mo = ".acquire"; break;
    case MC_RELEASE: mo = ".release"; break;
    case MC_ACQ_REL: mo = ".acq_rel"; break;
    case MC_SEQ_CST: mo = ".seq_cst"; break;
  }
  snprintf(buf, sizeof buf, "%s%s", op, mo);
  return buf;
}

static const char* base_name(const char* f) {
  const char* b = strrchr(f, '/');
  return b ? b + 1 : f;
}

/* replies go through one buffer, written with write(2) at the end of each
   reply: no stdio on scenario threads (printf may allocate, and the
   allocator is mimalloc), and the buffer is the baton holder's alone */
static char obuf[1 << 15];
static size_t olen;
static void flush_out(void) {
  size_t off = 0;
  while (off < olen) {
    ssize_t w = write(1, obuf + off, olen - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) _exit(0); /* the driver is gone */
    off += (size_t)w;
  }
  olen = 0;
}
__attribute__((format(printf, 1, 2)))
static void outf(const char* fmt, ...) {
  for (int attempt = 0; attempt < 2; attempt++) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(obuf + olen, sizeof obuf - olen, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof obuf - olen) { olen += (size_t)n; return; }
    flush_out(); /* full: write what is there, then format again */
  }
}

/* commands come with raw reads into one buffer: the thread that reads
   them changes with the baton (a stdio buffer would be one thread's) */
static char rbuf[1 << 16];
static size_t rpos, rlen;
static char* next_line(void) {
  static char line[4096];
  for (;;) {
    char* nl = memchr(rbuf + rpos, '\n', rlen - rpos);
    if (nl != NULL) {
      size_t n = (size_t)(nl - (rbuf + rpos));
      if (n >= sizeof line) n = sizeof line - 1;
      memcpy(line, rbuf + rpos, n);
      line[n] = 0;
      rpos = (size_t)(nl - rbuf) + 1;
      return line;
    }
    if (rpos > 0) { memmove(rbuf, rbuf + rpos, rlen - rpos); rlen -= rpos; rpos = 0; }
    if (rlen == sizeof rbuf) return NULL;
    ssize_t r = read(0, rbuf + rlen, sizeof rbuf - rlen);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return NULL;
    rlen += (size_t)r;
  }
}

static void report(int i);
static void print_state(void);
static void die(const char* msg, const char* line);
static __thread bool mc_serving; /* this thread holds the baton: its own mimalloc calls are no points */
static int startup_next;          /* start: the next thread to run to its first point */

/* hand the baton to thread j and wait until it comes back (never, for a
   done thread) */
static void hand_to(int self, int j) {
  pthread_mutex_lock(&mu);
  current = j;
  pthread_cond_signal(&tcv[j]);
  while (current != self) pthread_cond_wait(&tcv[self], &mu);
  pthread_mutex_unlock(&mu);
}

/* the baton holder serves the driver's commands until the schedule lets
   thread self run on (run self: no hand-over at all) or hands the baton
   to another thread (and waits for it to come back) */
static void serve(int self) {
  for (;;) {
    char* line = next_line();
    if (line == NULL) _exit(0); /* the driver is gone */
    int i;
    if (sscanf(line, "run %d", &i) == 1) {
      if (i < 0 || i >= nthreads) die("bad run", line);
      if (threads[i].done) { report(i); flush_out(); continue; }
      if (i != self) hand_to(self, i);
      return;
    } else if (strcmp(line, "state") == 0) {
      print_state();
      flush_out();
    } else if (strcmp(line, "end") == 0 || strcmp(line, "quit") == 0) {
      _exit(0);
    } else {
      die("unknown command", line);
    }
  }
}

/* thread self is at a point (or done): it reports it and serves until it
   may run on. At start each thread runs to its first point in turn; the
   last one starts serving. */
static void mc_pause(int self) {
  mc_serving = true;
  report(self);
  flush_out();
  if (startup_next < nthreads) hand_to(self, startup_next++);
  else serve(self);
  mc_serving = false;
}

void mc_point(int kind, const volatile void* addr, const char* file, int line) {
  if (mc_self < 0 || mc_serving) return;
  mc_thread_t* t = &threads[mc_self];
  { /* the thread's heap: the last one that was not _mi_heap_empty (thread
       done resets the default heap; other threads may still push to the
       old one's delayed list) */
    mi_heap_t* hp = mi_prim_get_default_heap();
    if (hp != &_mi_heap_empty && heaps[mc_self] != hp) {
      heaps[mc_self] = hp;
      /* a new heap may reuse the memory of an exited thread's heap (the
         thread data cache, init.c): the address is now this thread's */
      for (int j = 0; j < nthreads; j++) if (j != mc_self && heaps[j] == hp) heaps[j] = NULL;
    }
  }
  if (auto_local && (kind & MC_OP_MASK) != MC_LOCK && (kind & MC_OP_MASK) != MC_TRYLOCK && (kind & MC_OP_MASK) != MC_UNLOCK) {
    /* naming the address may itself run instrumented atomics (the segment
       map): they are the harness's, not points */
    if (mc_naming) return;
    char name[96];
    mc_naming = true;
    addr_name((const void*)addr, name, sizeof name);
    mc_naming = false;
    bool skip = strcmp(name, "-") == 0;
    for (int k = 0; k < n_auto_sites && !skip; k++) {
      skip = auto_sites[k].line == line && strcmp(auto_sites[k].file, base_name(file)) == 0 && strcmp(auto_sites[k].kind, kind_name(kind)) == 0;
    }
    if (skip) {
      /* buffered: it goes out with the thread's next reply (one wake-up of
         the driver, not one per skipped point) */
      outf("skip %d %s %s %s:%d op=%d\n", mc_self, kind_name(kind), name, base_name(file), line, t->op);
      t->kind = kind; t->addr = (const void*)addr; t->file = file; t->line = line; /* for a crash report */
      return;
    }
  }
  t->kind = kind; t->addr = (const void*)addr; t->file = file; t->line = line; t->mbox = -1;
  mc_pause(mc_self);
}

/* a blocking acquire is a try-acquire point, repeated while the lock is
   held by another thread (that thread runs only when the schedule says) */
void mc_lock_acquire(pthread_mutex_t* m, const char* file, int line) {
  for (;;) {
    mc_point(MC_LOCK, m, file, line);
    if (pthread_mutex_trylock(m) == 0) return;
  }
}
bool mc_lock_try(pthread_mutex_t* m, const char* file, int line) {
  mc_point(MC_TRYLOCK, m, file, line);
  return pthread_mutex_trylock(m) == 0;
}
void mc_lock_release(pthread_mutex_t* m, const char* file, int line) {
  mc_point(MC_UNLOCK, m, file, line);
  pthread_mutex_unlock(m);
}

static mi_threadid_t tids[MC_MAX_THREADS];

static void* scenario_thread(void* arg) {
  mc_self = (int)(intptr_t)arg;
  mc_thread_t* t = &threads[mc_self];
  tids[mc_self] = _mi_thread_id();
  pthread_mutex_lock(&mu);
  while (current != mc_self) pthread_cond_wait(&tcv[mc_self], &mu);
  pthread_mutex_unlock(&mu);
  for (int k = 0; k < t->nops; k++) {
    op_t* op = &t->ops[k];
    t->op = k;
    switch (op->kind) {
      case OP_MALLOC: t->regs[op->reg] = mi_malloc(class_size[op->arg]); break;
      case OP_FREE: mi_free(t->regs[op->reg]); t->regs[op->reg] = NULL; break;
      case OP_SEND:
      case OP_RECV:
        t->kind = (op->kind == OP_SEND ? MC_SEND : MC_RECV);
        t->addr = NULL; t->file = "scenario"; t->line = k; t->mbox = op->arg;
        mc_pause(mc_self);
        if (op->kind == OP_SEND) {
          if (mailbox_full[op->arg]) { fprintf(stderr, "harness: T%d sends to full m%d\n", mc_self + 1, op->arg); fflush(stderr); _exit(3); }
          mailbox[op->arg] = t->regs[op->reg]; mailbox_full[op->arg] = true; t->regs[op->reg] = NULL;
        } else {
          if (!mailbox_full[op->arg]) { fprintf(stderr, "harness: T%d receives from empty m%d\n", mc_self + 1, op->arg); fflush(stderr); _exit(3); }
          t->regs[op->reg] = mailbox[op->arg]; mailbox[op->arg] = NULL; mailbox_full[op->arg] = false;
        }
        break;
      case OP_COLLECT: mi_collect(false); break;
      case OP_FORCE: mi_collect(true); break;
      case OP_INIT: mi_thread_init(); break;
      case OP_EXIT: mi_thread_done(); break;
      case OP_KEEPFREE: mi_free(t->regs[op->reg]); break;
      case OP_POKE: if (t->regs[op->reg] != NULL) { ((volatile char*)t->regs[op->reg])[64] = 1; } break; /* past the free-list link */
    }
  }
  t->op = t->nops;
  t->done = true;
  mc_pause(mc_self); /* never returns: nobody runs a done thread */
  /* never return: thread-exit destructors would run outside the schedule */
  for (;;) pause();
  return NULL;
}

/* print_addr names the shared location a point accesses, as the model
   names them: sG.thread_id, sG.pI.xthread_free, sG.pI.xheap (page I of
   segment slot G), sG+0xOFF (other segment memory), abandoned_bitmap,
   inuse_bitmap, abandoned_count, os_lock, os_visit_lock, os_list_count,
   hT.delayed (scenario thread T's heap->thread_delayed_free); "-" for the
   rest (options, statistics, thread counts, ...). */
#if defined(__SANITIZE_ADDRESS__)
__attribute__((no_sanitize_address))
#endif
static void addr_name(const void* a, char* buf, size_t n) {
  const uint8_t* p = (const uint8_t*)a;
  if (p == NULL) { snprintf(buf, n, "-"); return; }
  int og = os_slot(p);
  if (og >= 0 || (arena_start != NULL && p >= arena_start && p < arena_start + arena_size)) {
    size_t g;
    mi_segment_t* seg;
    size_t off;
    if (og >= 0) {
      g = (size_t)og; seg = os_segs[og]; off = (size_t)(p - (const uint8_t*)seg);
    } else {
      off = (size_t)(p - arena_start);
      g = off / MI_SEGMENT_SIZE;
      seg = (mi_segment_t*)(arena_start + g * MI_SEGMENT_SIZE);
    }
    if (p == (const uint8_t*)&seg->thread_id) { snprintf(buf, n, "s%zu.thread_id", g); return; }
    const uint8_t* s0 = (const uint8_t*)&seg->slices[0];
    if (p >= s0 && p < s0 + sizeof(mi_slice_t) * (MI_SLICES_PER_SEGMENT + 1)) {
      size_t i = (size_t)(p - s0) / sizeof(mi_slice_t);
      mi_page_t* pg = &seg->slices[i];
      if (p == (const uint8_t*)&pg->xthread_free) { snprintf(buf, n, "s%zu.p%zu.xthread_free", g, i); return; }
      if (p == (const uint8_t*)&pg->xheap) { snprintf(buf, n, "s%zu.p%zu.xheap", g, i); return; }
      snprintf(buf, n, "s%zu.p%zu+0x%zx", g, i, (size_t)(p - (const uint8_t*)pg));
      return;
    }
    snprintf(buf, n, "s%zu+0x%zx", g, off % MI_SEGMENT_SIZE);
    return;
  }
  mi_arena_t* arena = (arena_start == NULL ? NULL : mi_atomic_load_ptr_relaxed(mi_arena_t, &mi_arenas[mi_arena_id_index(arena_id)]));
  if (arena != NULL) {
    if (arena->blocks_abandoned != NULL && p >= (const uint8_t*)arena->blocks_abandoned && p < (const uint8_t*)(arena->blocks_abandoned + arena->field_count)) { snprintf(buf, n, "abandoned_bitmap"); return; }
    if (p >= (const uint8_t*)arena->blocks_inuse && p < (const uint8_t*)(arena->blocks_inuse + arena->field_count)) { snprintf(buf, n, "inuse_bitmap"); return; }
  }
#if MC_HAS_SUBPROC
  mi_subproc_t* sp = _mi_subproc_from_id(mi_subproc_main());
  if (p == (const uint8_t*)&sp->abandoned_count) { snprintf(buf, n, "abandoned_count"); return; }
  if (p == (const uint8_t*)&sp->abandoned_os_list_count) { snprintf(buf, n, "os_list_count"); return; }
  if (p >= (const uint8_t*)&sp->abandoned_os_lock && p < (const uint8_t*)&sp->abandoned_os_lock + sizeof(sp->abandoned_os_lock)) { snprintf(buf, n, "os_lock"); return; }
  if (p >= (const uint8_t*)&sp->abandoned_os_visit_lock && p < (const uint8_t*)&sp->abandoned_os_visit_lock + sizeof(sp->abandoned_os_visit_lock)) { snprintf(buf, n, "os_visit_lock"); return; }
#else
  if (p == (const uint8_t*)&abandoned_count) { snprintf(buf, n, "abandoned_count"); return; }
#endif
  for (int i = 0; i < nthreads; i++) {
    if (heaps[i] != NULL && p == (const uint8_t*)&heaps[i]->thread_delayed_free) { snprintf(buf, n, "h%d.delayed", i + 1); return; }
  }
  snprintf(buf, n, "-");
}

static void print_addr(const void* a) {
  char buf[96];
  addr_name(a, buf, sizeof buf);
  outf("%s", buf);
}

static void report(int i) {
  mc_thread_t* t = &threads[i];
  if (t->done) { outf("done %d op=%d\n", i, t->op); return; }
  outf("at %d %s", i, kind_name(t->kind));
  if (t->mbox >= 0) outf("-m%d", t->mbox);
  outf(" ");
  print_addr(t->addr);
  outf(" %s:%d op=%d\n", base_name(t->file), t->line, t->op);
}


/* one held block: where=T<i>:r<R> or m<k>, as slot.slice of its page */
static void print_block(const char* kind, int n, int r, void* p) {
  if (p == NULL) {
    if (r < 0) outf("%s%d=null", kind, n);
    return;
  }
  const uint8_t* b = (const uint8_t*)p;
  if (r >= 0) outf("%s%d:r%d=", kind, n, r); else outf("%s%d=", kind, n);
  int og = os_slot(b);
  if (og >= 0) {
    outf("s%d.%zu", og, (size_t)(b - (const uint8_t*)os_segs[og]) / MI_SEGMENT_SLICE_SIZE);
  } else if (arena_start != NULL && b >= arena_start && b < arena_start + arena_size) {
    size_t off = (size_t)(b - arena_start);
    outf("s%zu.%zu", off / MI_SEGMENT_SIZE, (off % MI_SEGMENT_SIZE) / MI_SEGMENT_SLICE_SIZE);
  } else {
    outf("?");
  }
}

/* state: the owner (scenario thread index + 1, 0 abandoned, - not live) and
   the used / abandoned page counts of each slot, then each thread's
   registers as slot.slice.block */
/* the harness reads mimalloc's metadata behind its back: not checked by
   AddressSanitizer (mimalloc poisons what it does not use) */
#if defined(__SANITIZE_ADDRESS__)
__attribute__((no_sanitize_address))
#endif
static void print_state(void) {
  outf("state");
  if (os_mode) {
    /* segments not met at a point yet (mimalloc enters a segment in its
       segment map at the end of mi_segment_alloc) are met through the
       blocks the program holds */
    for (int i = 0; i < nthreads; i++) for (int r = 0; r < MC_MAX_REGS; r++) (void)os_slot(threads[i].regs[r]);
    for (int k = 0; k < MC_MAX_MBOX; k++) if (mailbox_full[k]) (void)os_slot(mailbox[k]);
    for (int g = 0; g < nsegments && g < 16; g++) {
      mi_segment_t* s = os_segs[g];
      if (!os_seg_live(s)) { outf(" s%d:-", g); continue; }
      size_t tid = mi_atomic_load_relaxed(&s->thread_id);
      int owner = -1;
      for (int i = 0; i < nthreads; i++) if (tids[i] != 0 && tids[i] == tid) owner = i + 1;
      if (tid == 0) owner = 0;
      outf(" s%d:%d/%zu/%zu", g, owner, s->used, s->abandoned);
    }
    goto blocks;
  }
  mi_arena_t* arena = mi_atomic_load_ptr_relaxed(mi_arena_t, &mi_arenas[mi_arena_id_index(arena_id)]);
  for (int g = 0; g < nsegments; g++) {
    mi_segment_t* s = (mi_segment_t*)(arena_start + (size_t)g * MI_SEGMENT_SIZE);
    bool live = _mi_bitmap_is_claimed(arena->blocks_inuse, arena->field_count, 1, mi_bitmap_index_create(0, (size_t)g));
    if (!live) { outf(" s%d:-", g); continue; }
    bool marked = arena->blocks_abandoned != NULL && _mi_bitmap_is_claimed(arena->blocks_abandoned, arena->field_count, 1, mi_bitmap_index_create(0, (size_t)g));
    size_t tid = mi_atomic_load_relaxed(&s->thread_id);
    int owner = -1;
    for (int i = 0; i < nthreads; i++) if (tids[i] != 0 && tids[i] == tid) owner = i + 1;
    if (tid == 0) owner = 0;
    outf(" s%d:%d/%zu/%zu%s", g, owner, s->used, s->abandoned, marked ? "/marked" : "");
  }
blocks:
  /* the blocks the program holds: slot.slice of each block's page */
  for (int i = 0; i < nthreads; i++) {
    for (int r = 0; r < MC_MAX_REGS; r++) {
      print_block(" T", i + 1, r, threads[i].regs[r]);
    }
  }
  for (int k = 0; k < MC_MAX_MBOX; k++) {
    if (mailbox_full[k]) print_block(" m", k, -1, mailbox[k]);
  }
  outf("\n");
}

/* errors end the process at once: exit handlers would run mimalloc's
   process-done code while scenario threads are paused inside it */
/* mimalloc's error reports (double free, invalid pointer, corrupted free
   list, ...) end the run; running out of memory is an outcome the model
   has too (malloc returns NULL) */
static void mc_on_error(int err, void* arg) {
  (void)arg;
  if (err == ENOMEM) return;
  flush_out(); /* the skip lines buffered so far */
  fprintf(stderr, "harness: mimalloc reported error %d (%s)\n", err, strerror(err));
  fflush(stderr);
  _exit(4);
}

/* a segmentation fault names the address as print_addr does and the
   point the faulting thread passed last (async-signal-safe enough for a
   process that is about to end: it only formats and writes) */
static void mc_on_segv(int sig, siginfo_t* si, void* uc) {
  (void)uc;
  char buf[256];
  const uint8_t* p = (const uint8_t*)si->si_addr;
  int n;
  if (arena_start != NULL && p >= arena_start && p < arena_start + arena_size) {
    size_t off = (size_t)(p - arena_start);
    size_t g = off / MI_SEGMENT_SIZE, so = off % MI_SEGMENT_SIZE;
    mi_segment_t* seg = (mi_segment_t*)(arena_start + g * MI_SEGMENT_SIZE);
    const uint8_t* s0 = (const uint8_t*)&seg->slices[0];
    if (p >= s0 && p < s0 + sizeof(mi_slice_t) * (MI_SLICES_PER_SEGMENT + 1)) {
      size_t i = (size_t)(p - s0) / sizeof(mi_slice_t);
      n = snprintf(buf, sizeof buf, "harness: signal %d: access to s%zu.p%zu+0x%zx", sig, g, i, (size_t)(p - s0) % sizeof(mi_slice_t));
    } else {
      n = snprintf(buf, sizeof buf, "harness: signal %d: access to s%zu+0x%zx", sig, g, so);
    }
  } else {
    n = snprintf(buf, sizeof buf, "harness: signal %d: access to %p", sig, si->si_addr);
  }
  if (mc_self >= 0) {
    mc_thread_t* t = &threads[mc_self];
    n += snprintf(buf + n, sizeof buf - (size_t)n, " by T%d after its point at %s:%d (operation %d)", mc_self + 1, base_name(t->file), t->line, t->op);
  }
  n += snprintf(buf + n, sizeof buf - (size_t)n, "\n");
  if (olen > 0 && write(1, obuf, olen) < 0) { /* the skip lines buffered so far */ }
  if (write(2, buf, (size_t)n) < 0) { /* nothing to do */ }
  _exit(128 + sig);
}

static void die(const char* msg, const char* line) {
  fprintf(stderr, "harness: %s: %s\n", msg, line);
  fflush(stderr);
  _exit(2);
}

/* start: the arena (exactly the scenario's segment slots, and no OS
   memory for segments), the scenario's threads, each run to its first
   point in turn; the last one serves the driver. The calling thread is no
   scenario thread and never runs again. */
static void start_run(const char* line) {
  if (nthreads == 0) die("no threads", line);
  mi_register_error(mc_on_error, NULL);
#if !defined(__SANITIZE_ADDRESS__)
  { struct sigaction sa; memset(&sa, 0, sizeof sa); sa.sa_sigaction = mc_on_segv; sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL); sigaction(SIGBUS, &sa, NULL); }
#endif
  mi_option_set(mi_option_arena_reserve, 0);
  if (!os_mode) {
    mi_option_set(mi_option_disallow_os_alloc, 1);
    if (mi_reserve_os_memory_ex((size_t)nsegments * MI_SEGMENT_SIZE, true, false, false, &arena_id) != 0) die("cannot reserve the arena", line);
    arena_start = (uint8_t*)mi_arena_area(arena_id, &arena_size);
    if (arena_start == NULL) die("no arena area", line);
  }
  for (int i = 0; i < nthreads; i++) pthread_cond_init(&tcv[i], NULL);
  for (int i = 0; i < nthreads; i++) {
    if (pthread_create(&threads[i].th, NULL, scenario_thread, (void*)(intptr_t)i) != 0) die("pthread_create", line);
  }
  outf("ready\n");
  flush_out();
  pthread_mutex_lock(&mu);
  startup_next = 1;
  current = 0;
  pthread_cond_signal(&tcv[0]);
  pthread_mutex_unlock(&mu);
  for (;;) pause();
}

/* fork: one run in a fresh child process (a copy of this one: mimalloc
   initialised, the configuration read, no run started), so a run costs a
   fork, not an exec and mimalloc's process start. The child's stderr goes
   to a memory file; when the child has ended, its lines come back as
   "err LINE" and then "ended exit N" or "ended signal N". The child dies
   with this process (a driver that kills a hung run kills this process). */
static int errfd = -1;
static void fork_run(const char* line) {
  if (errfd < 0) {
    errfd = (int)syscall(SYS_memfd_create, "mimcheck-harness-stderr", 0);
    if (errfd < 0) die("memfd_create", line);
  }
  if (ftruncate(errfd, 0) != 0 || lseek(errfd, 0, SEEK_SET) != 0) die("cannot reset the stderr file", line);
  flush_out();
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) die("fork", line);
  if (pid == 0) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(9);
    if (dup2(errfd, 2) < 0) _exit(9);
    close(errfd);
    start_run(line);
  }
  int st = 0;
  while (waitpid(pid, &st, 0) < 0) {
    if (errno != EINTR) die("waitpid", line);
  }
  /* the child's stderr, line by line (the first 16 KiB) */
  char buf[1 << 14];
  ssize_t n = pread(errfd, buf, sizeof buf - 1, 0);
  if (n > 0) {
    buf[n] = 0;
    for (char* l = buf; *l != 0;) {
      char* e = strchr(l, '\n');
      if (e != NULL) *e = 0;
      outf("err %s\n", l);
      flush_out();
      if (e == NULL) break;
      l = e + 1;
    }
  }
  if (WIFSIGNALED(st)) outf("ended signal %d\n", WTERMSIG(st));
  else outf("ended exit %d\n", WEXITSTATUS(st));
  flush_out();
}

int main(void) {
  char* line;
  while ((line = next_line()) != NULL) {
    char word[32];
    if (sscanf(line, "%31s", word) != 1) continue;
    if (strcmp(word, "segments") == 0) {
      if (sscanf(line, "segments %d", &nsegments) != 1 || nsegments < 1) die("bad segments", line);
    } else if (strcmp(word, "slices") == 0) {
      if (sscanf(line, "slices %d", &nslices) != 1) die("bad slices", line);
      mc_segment_slices = (size_t)nslices;
    } else if (strcmp(word, "auto-local") == 0) {
      auto_local = true;
    } else if (strcmp(word, "auto-site") == 0) {
      if (n_auto_sites >= 32) die("too many auto-site lines", line);
      char fl[64];
      if (sscanf(line, "auto-site %63s %23s", fl, auto_sites[n_auto_sites].kind) != 2) die("bad auto-site", line);
      char* colon = strrchr(fl, ':');
      if (colon == NULL || sscanf(colon + 1, "%d", &auto_sites[n_auto_sites].line) != 1) die("bad auto-site", line);
      *colon = 0;
      snprintf(auto_sites[n_auto_sites].file, sizeof auto_sites[n_auto_sites].file, "%s", fl);
      n_auto_sites++;
    } else if (strcmp(word, "memory") == 0) {
      char kind[16];
      if (sscanf(line, "memory %15s", kind) != 1 || (strcmp(kind, "os") != 0 && strcmp(kind, "arena") != 0)) die("bad memory", line);
      os_mode = strcmp(kind, "os") == 0;
    } else if (strcmp(word, "class") == 0) {
      /* a page of SLICES slices holding BLOCKS blocks: one slice of 8
         blocks is a small page (8 KiB blocks); k >= 2 slices with one block
         is a large page (a k*64 KiB object); 0 slices is a huge object */
      int k, sl, bl;
      if (sscanf(line, "class %d %d %d", &k, &sl, &bl) != 3 || k < 0 || k >= MC_MAX_CLASSES || bl < 1) die("bad class", line);
      size_t bytes = (sl == 0 ? MI_LARGE_OBJ_SIZE_MAX + 1 : ((size_t)sl * MI_SEGMENT_SLICE_SIZE) / (size_t)bl);
      class_size[k] = bytes - MI_PADDING_SIZE;
    } else if (strcmp(word, "option") == 0) {
      char name[64]; long v;
      if (sscanf(line, "option %63s %ld", name, &v) != 2) die("bad option", line);
      if (strcmp(name, "abandoned_reclaim_on_free") == 0) mi_option_set(mi_option_abandoned_reclaim_on_free, v);
      else if (strcmp(name, "purge_delay") == 0) mi_option_set(mi_option_purge_delay, v);
      else if (strcmp(name, "purge_decommits") == 0) mi_option_set(mi_option_purge_decommits, v);
#if MC_HAS_TARGET_SEGMENTS
      else if (strcmp(name, "target_segments_per_thread") == 0) mi_option_set(mi_option_target_segments_per_thread, v);
#endif
      else die("unknown option", line);
    } else if (strcmp(word, "thread") == 0) {
      if (nthreads >= MC_MAX_THREADS) die("too many threads", line);
      mc_thread_t* t = &threads[nthreads++];
      char* p = line + strlen("thread");
      char tok[64]; int n;
      while (sscanf(p, "%63s%n", tok, &n) == 1) {
        p += n;
        if (t->nops >= MC_MAX_OPS) die("too many ops", line);
        op_t* op = &t->ops[t->nops++];
        int r, a;
        if (sscanf(tok, "m%d=%d", &r, &a) == 2) { *op = (op_t){OP_MALLOC, r, a}; }
        else if (sscanf(tok, "free:%d", &r) == 1) { *op = (op_t){OP_FREE, r, 0}; }
        else if (sscanf(tok, "send:%d>%d", &r, &a) == 2) { *op = (op_t){OP_SEND, r, a}; }
        else if (sscanf(tok, "recv:%d<%d", &r, &a) == 2) { *op = (op_t){OP_RECV, r, a}; }
        else if (strcmp(tok, "collect") == 0) { *op = (op_t){OP_COLLECT, 0, 0}; }
        else if (strcmp(tok, "force") == 0) { *op = (op_t){OP_FORCE, 0, 0}; }
        else if (strcmp(tok, "init") == 0) { *op = (op_t){OP_INIT, 0, 0}; }
        else if (strcmp(tok, "exit") == 0) { *op = (op_t){OP_EXIT, 0, 0}; }
        else if (sscanf(tok, "keepfree:%d", &r) == 1) { *op = (op_t){OP_KEEPFREE, r, 0}; }
        else if (sscanf(tok, "poke:%d", &r) == 1) { *op = (op_t){OP_POKE, r, 0}; }
        else die("bad op", tok);
        if (op->reg < 0 || op->reg >= MC_MAX_REGS) die("bad register", tok);
        if ((op->kind == OP_SEND || op->kind == OP_RECV) && (op->arg < 0 || op->arg >= MC_MAX_MBOX)) die("bad mailbox", tok);
      }
    } else if (strcmp(word, "start") == 0) {
      start_run(line);
    } else if (strcmp(word, "fork") == 0) {
      fork_run(line);
    } else if (strcmp(word, "run") == 0 || strcmp(word, "state") == 0 || strcmp(word, "end") == 0) {
      /* a command to a forked run that ended before it read it (a crash):
         the driver has the run's end already */
    } else if (strcmp(word, "quit") == 0) {
      _exit(0);
    } else {
      die("unknown command", line);
    }
  }
  return 0;
}
