// Package invocationlog keeps function logs: the platform lines (START, END, REPORT,
// INIT_REPORT) and each function's own output, attributed to request ids, stored per function
// on disk with a retention period. It formats the platform lines exactly as Lambda writes them
// and serves reads ("events since a time") and follows (tail -f) for the logs API and CLI.
package invocationlog

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Event is one log line of a function.
type Event struct {
	Time      time.Time
	Function  string // function name (the log group is /aws/lambda/<Function>)
	Stream    string // log stream name of the environment that wrote it
	RequestID string // empty for lines written outside an invocation (init, between invokes)
	Message   string // one line, without the trailing newline
}

// Store keeps function logs under a directory: <dir>/<function>/<YYYY-MM-DD>.log, one file per
// UTC day, deleted after the retention period. Appends are buffered in memory and written by a
// background flusher every 200 ms (or by any read), so the invoke path does no file I/O and
// wakes no goroutine. Writing happens off the lock Append takes: a slow or full disk never
// stalls an invocation. What is buffered is bounded (maxPendingBytes); beyond it events are
// dropped and counted.
type Store struct {
	dir       string
	retention time.Duration
	log       *slog.Logger
	now       func() time.Time

	// wmu serialises writers (flushes, expiry) and guards files and wbuf; it is taken before mu
	// when both are held, and never by Append.
	wmu     sync.Mutex
	files   map[string]*dayFile
	wbuf    []byte // reused by write
	limits  Limits
	usage   map[string]int64 // function -> bytes on disk
	total   int64
	failing bool // writes are failing (disk full): warned once, until one succeeds
	failed  int  // lines dropped by failed writes in this episode
	// lastFail is when a write last failed; recoverAfter is how long writes must work after it
	// to end the episode.
	lastFail     time.Time
	recoverAfter time.Duration

	mu           sync.Mutex
	pending      map[string][]Event // function -> not yet written
	pendingBytes int
	dropped      int // events dropped since the last flush because pending was full
	subs         map[string]map[*subscriber]struct{}
	closed       bool

	stop chan struct{}
	done chan struct{}
}

type dayFile struct {
	day  string
	seq  int   // segment of the day (segName)
	size int64 // bytes in the file
	f    *os.File
}

// Limits caps the disk the store uses; 0 means no cap. Over a cap the oldest log files go
// first (the file being written to is kept; files are continued in a new one at 1/8 of the
// smaller cap, so what is kept stays close to the cap).
type Limits struct {
	PerFunction int64 // bytes of logs kept per function
	Total       int64 // bytes of logs kept in all
}

type subscriber struct {
	ch    chan struct{} // notified (non-blocking) when new events arrive
	queue []Event       // guarded by Store.mu
}

// Open opens (creating) a store in dir. retention <= 0 keeps logs forever; lim caps its size.
// Close stops it.
func Open(dir string, retention time.Duration, lim Limits, log *slog.Logger) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("invocationlog: open: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{
		dir: dir, retention: retention, limits: lim, log: log, now: time.Now, recoverAfter: 30 * time.Second,
		pending: map[string][]Event{},
		subs:    map[string]map[*subscriber]struct{}{},
		files:   map[string]*dayFile{},
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	s.loadUsage()
	s.enforceLocked()
	go s.run()
	return s, nil
}

// Append records events. It never blocks on disk.
func (s *Store) Append(evs ...Event) {
	if len(evs) == 0 {
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	for _, ev := range evs {
		if !validFunction(ev.Function) {
			continue
		}
		if n := len(ev.Message) + len(ev.Stream) + len(ev.RequestID) + eventOverhead; s.pendingBytes+n > maxPendingBytes {
			s.dropped++
		} else {
			s.pendingBytes += n
			s.pending[ev.Function] = append(s.pending[ev.Function], ev)
		}
		for sub := range s.subs[ev.Function] {
			if len(sub.queue) >= maxFollowBacklog {
				sub.queue = sub.queue[1:]
			}
			sub.queue = append(sub.queue, ev)
			select {
			case sub.ch <- struct{}{}:
			default:
			}
		}
	}
	s.mu.Unlock()
}

// maxPendingBytes bounds the events buffered between flushes (a function's output is already
// capped per invocation by the pool; this bounds many of them at once, or a stalled disk).
const maxPendingBytes = 32 << 20

// eventOverhead approximates an Event's size beyond its strings.
const eventOverhead = 64

// validFunction accepts Lambda function names (letters, digits, '-', '_'), which keeps the
// per-function directory inside the store.
func validFunction(name string) bool {
	if name == "" || len(name) > 140 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func (s *Store) run() {
	defer close(s.done)
	flushT := time.NewTicker(200 * time.Millisecond)
	defer flushT.Stop()
	gcT := time.NewTicker(time.Hour)
	defer gcT.Stop()
	s.expire()
	for {
		select {
		case <-s.stop:
			return
		case <-flushT.C:
			if err := s.Flush(); err != nil {
				s.log.Warn("invocationlog: flush", "err", err)
			}
		case <-gcT.C:
			s.expire()
		}
	}
}

// Flush writes every pending event to disk.
func (s *Store) Flush() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	batch, dropped := s.takeLocked()
	s.mu.Unlock()
	return s.write(batch, dropped)
}

// takeLocked hands over the pending events; the store keeps no reference to them, so they are
// freed once written.
func (s *Store) takeLocked() (map[string][]Event, int) {
	batch, dropped := s.pending, s.dropped
	s.pending, s.pendingBytes, s.dropped = map[string][]Event{}, 0, 0
	return batch, dropped
}

// write writes a batch taken from pending. The caller holds wmu, not mu. Errors writing (a full
// disk) are reported once per episode, not returned: the lines are dropped and furl goes on.
func (s *Store) write(batch map[string][]Event, dropped int) error {
	if dropped > 0 {
		s.log.Warn("invocationlog: log lines dropped: more buffered than written", "lines", dropped, "limit_bytes", maxPendingBytes)
	}
	buf := s.wbuf[:0]
	defer func() {
		if cap(buf) <= 1<<20 {
			s.wbuf = buf[:0]
		}
	}()
	written := false
	for fn, evs := range batch {
		var cur *dayFile
		var day string
		var dy, dd int
		var dm time.Month
		n := 0 // events in buf
		put := func() {
			if len(buf) > 0 && cur != nil {
				s.writeFile(fn, cur, buf, n)
				written = true
			} else if n > 0 {
				s.failed += n
			}
			buf, n = buf[:0], 0
		}
		for _, ev := range evs {
			// The day's name is formatted once per day, not once per event.
			if y, m, d := ev.Time.UTC().Date(); day == "" || y != dy || m != dm || d != dd {
				day, dy, dm, dd = ev.Time.UTC().Format(time.DateOnly), y, m, d
			}
			if cur == nil || cur.day != day || len(buf) >= 256<<10 {
				put()
				f, err := s.fileLocked(fn, day)
				if err != nil {
					s.writeFailed(err)
					cur = nil
				} else {
					cur = f
				}
			}
			buf = appendRecord(buf, ev)
			n++
		}
		put()
		clear(evs)
		delete(batch, fn)
	}
	if written {
		s.enforceLocked()
	}
	return nil
}

// writeFile appends buf (n events) to f; a failed write is undone (no partial line is left)
// and reported once per episode.
func (s *Store) writeFile(fn string, f *dayFile, buf []byte, n int) {
	if _, err := f.f.Write(buf); err != nil {
		_ = f.f.Truncate(f.size)
		s.failed += n
		s.writeFailed(err)
		return
	}
	f.size += int64(len(buf))
	s.usage[fn] += int64(len(buf))
	s.total += int64(len(buf))
	if s.failing && s.now().Sub(s.lastFail) >= s.recoverAfter {
		s.failing = false
		s.log.Info("invocationlog: writing logs again", "dropped_lines", s.failed)
		s.failed = 0
	}
}

// writeFailed starts (or continues) an episode of failed writes: one warning, not one per flush.
// A nearly full disk takes small writes and refuses big ones: the episode ends only once writes
// have worked for recoverAfter since the last failure.
func (s *Store) writeFailed(err error) {
	s.lastFail = s.now()
	if s.failing {
		return
	}
	s.failing = true
	s.log.Warn("invocationlog: cannot write logs (disk full?); dropping log lines until writing works again; functions keep running", "dir", s.dir, "err", err)
}

// segName is the file of a function's logs for a day: <day>.log, then <day>.<n>.log once a
// segment reaches segBytes.
func segName(day string, seq int) string {
	if seq == 0 {
		return day + ".log"
	}
	return fmt.Sprintf("%s.%06d.log", day, seq)
}

// parseSeg is segName's inverse.
func parseSeg(name string) (day string, seq int, ok bool) {
	base, ok := strings.CutSuffix(name, ".log")
	if !ok || len(base) < len(time.DateOnly) {
		return "", 0, false
	}
	day, rest := base[:len(time.DateOnly)], base[len(time.DateOnly):]
	if _, err := time.Parse(time.DateOnly, day); err != nil {
		return "", 0, false
	}
	if rest == "" {
		return day, 0, true
	}
	n, err := strconv.Atoi(strings.TrimPrefix(rest, "."))
	if err != nil || n <= 0 || rest[0] != '.' {
		return "", 0, false
	}
	return day, n, true
}

type segment struct {
	fn, name, day string
	seq           int
	size          int64
	mod           time.Time
}

// segments lists a function's log files, oldest first.
func (s *Store) segments(fn string) []segment {
	ents, err := os.ReadDir(filepath.Join(s.dir, fn))
	if err != nil {
		return nil
	}
	var out []segment
	for _, e := range ents {
		day, seq, ok := parseSeg(e.Name())
		if !ok {
			continue
		}
		seg := segment{fn: fn, name: e.Name(), day: day, seq: seq}
		if fi, err := e.Info(); err == nil {
			seg.size, seg.mod = fi.Size(), fi.ModTime()
		}
		out = append(out, seg)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].day != out[j].day {
			return out[i].day < out[j].day
		}
		return out[i].seq < out[j].seq
	})
	return out
}

// segBytes is the size at which a function's log file is continued in a new one, so the size
// caps can drop the oldest lines without rewriting files.
func (s *Store) segBytes() int64 {
	lim := s.limits.PerFunction
	if t := s.limits.Total; t > 0 && (lim <= 0 || t < lim) {
		lim = t
	}
	if lim <= 0 {
		return 64 << 20
	}
	return min(max(lim/8, 16<<10), 64<<20)
}

// loadUsage measures what the store holds on disk.
func (s *Store) loadUsage() {
	s.usage, s.total = map[string]int64{}, 0
	fns, _ := os.ReadDir(s.dir)
	for _, fn := range fns {
		if !fn.IsDir() || !validFunction(fn.Name()) {
			continue
		}
		for _, seg := range s.segments(fn.Name()) {
			s.usage[fn.Name()] += seg.size
			s.total += seg.size
		}
	}
}

// enforceLocked drops the oldest log files of a function over Limits.PerFunction, then the
// oldest of all while the store is over Limits.Total. The caller holds wmu.
func (s *Store) enforceLocked() {
	if per := s.limits.PerFunction; per > 0 {
		for fn, used := range s.usage {
			if used <= per {
				continue
			}
			for _, seg := range s.segments(fn) {
				if used <= per {
					break
				}
				if !s.isOpen(seg) {
					used -= s.removeSeg(seg)
				}
			}
			s.usage[fn] = used
		}
	}
	if tot := s.limits.Total; tot > 0 && s.total > tot {
		var all []segment
		for fn := range s.usage {
			for _, seg := range s.segments(fn) {
				if !s.isOpen(seg) { // the file being written to stays
					all = append(all, seg)
				}
			}
		}
		sort.Slice(all, func(i, j int) bool { return all[i].mod.Before(all[j].mod) })
		for i := 0; s.total > tot && i < len(all); i++ {
			s.usage[all[i].fn] -= s.removeSeg(all[i])
		}
	}
}

// isOpen reports whether seg is the file its function's lines are appended to.
func (s *Store) isOpen(seg segment) bool {
	df := s.files[seg.fn]
	return df != nil && df.day == seg.day && df.seq == seg.seq
}

// removeSeg deletes one log file, returning its size. The caller holds wmu.
func (s *Store) removeSeg(seg segment) int64 {
	if df := s.files[seg.fn]; df != nil && df.day == seg.day && df.seq == seg.seq {
		df.f.Close()
		delete(s.files, seg.fn)
	}
	if err := os.Remove(filepath.Join(s.dir, seg.fn, seg.name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("invocationlog: drop old logs", "err", err)
		return 0
	}
	s.total -= seg.size
	return seg.size
}

// fileLocked returns the file to append the function's lines of day to, continuing in a new
// segment once the current one is full; the caller holds wmu.
func (s *Store) fileLocked(fn, day string) (*dayFile, error) {
	f := s.files[fn]
	if f != nil && f.day == day && f.size < s.segBytes() {
		return f, nil
	}
	seq := 0
	if f != nil && f.day == day {
		seq = f.seq + 1
	}
	if f != nil {
		f.f.Close()
		delete(s.files, fn)
	}
	d := filepath.Join(s.dir, fn)
	if err := os.MkdirAll(d, 0o700); err != nil {
		return nil, fmt.Errorf("invocationlog: %w", err)
	}
	if f == nil {
		// Continue the day's newest segment from an earlier run.
		for _, seg := range s.segments(fn) {
			if seg.day == day && seg.seq >= seq {
				seq = seg.seq
				if seg.size >= s.segBytes() {
					seq++
				}
			}
		}
	}
	fh, err := os.OpenFile(filepath.Join(d, segName(day, seq)), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("invocationlog: %w", err)
	}
	var size int64
	if fi, err := fh.Stat(); err == nil {
		size = fi.Size()
	}
	df := &dayFile{day: day, seq: seq, size: size, f: fh}
	s.files[fn] = df
	return df, nil
}

// Record format, one per line: <unix nanos>\t<stream>\t<request id>\t<quoted message>.
func appendRecord(b []byte, ev Event) []byte {
	b = strconv.AppendInt(b, ev.Time.UnixNano(), 10)
	b = append(b, '\t')
	b = append(b, sanitizeField(ev.Stream)...)
	b = append(b, '\t')
	b = append(b, sanitizeField(ev.RequestID)...)
	b = append(b, '\t')
	b = strconv.AppendQuote(b, ev.Message)
	return append(b, '\n')
}

var fieldSpaces = strings.NewReplacer("\t", " ", "\n", " ", "\r", " ")

func sanitizeField(s string) string {
	if !strings.ContainsAny(s, "\t\n\r") {
		return s
	}
	return fieldSpaces.Replace(s)
}

// parseRecord is the inverse of appendRecord.
func parseRecord(fn string, line string) (Event, bool) {
	parts := strings.SplitN(line, "\t", 4)
	if len(parts) != 4 {
		return Event{}, false
	}
	ns, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		return Event{}, false
	}
	msg, err := strconv.Unquote(parts[3])
	if err != nil {
		return Event{}, false
	}
	return Event{Time: time.Unix(0, ns), Function: fn, Stream: parts[1], RequestID: parts[2], Message: msg}, true
}

// Since returns the function's events with Time >= since, oldest first, at most limit of them
// (the oldest ones; limit <= 0 means no limit).
func (s *Store) Since(function string, since time.Time, limit int) ([]Event, error) {
	if !validFunction(function) {
		return nil, nil
	}
	if err := s.Flush(); err != nil {
		s.log.Warn("invocationlog: flush", "err", err)
	}
	var out []Event
	err := s.scan(function, since, nil, func(ev Event) error {
		out = append(out, ev)
		if limit > 0 && len(out) >= limit {
			return errStop
		}
		return nil
	})
	if err != nil && err != errStop {
		return nil, err
	}
	return out, nil
}

var errStop = errors.New("stop")

// scan reads the function's day files from since's day on, calling fn for each event with
// Time >= since. sizes, when set, bounds how much of each file is read (by day).
func (s *Store) scan(function string, since time.Time, sizes map[string]int64, fn func(Event) error) error {
	d := filepath.Join(s.dir, function)
	if _, err := os.Stat(d); errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("invocationlog: read: %w", err)
	}
	sinceDay := since.UTC().Format(time.DateOnly)
	for _, seg := range s.segments(function) {
		if seg.day < sinceDay {
			continue
		}
		if sizes != nil {
			if _, ok := sizes[seg.name]; !ok {
				continue
			}
		}
		f, err := os.Open(filepath.Join(d, seg.name))
		if err != nil {
			continue
		}
		var r io.Reader = f
		if sizes != nil {
			r = io.LimitReader(f, sizes[seg.name])
		}
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			ev, ok := parseRecord(function, sc.Text())
			if !ok || ev.Time.Before(since) {
				continue
			}
			if err := fn(ev); err != nil {
				f.Close()
				return err
			}
		}
		f.Close()
	}
	return nil
}

// maxFollowBacklog bounds the events queued for a slow follower; older ones are dropped.
const maxFollowBacklog = 10000

// Follow calls fn for every event of the function with Time >= since, first the stored ones and
// then new ones as they are appended, until ctx ends (it then returns nil) or fn returns an
// error (returned as is). A follower that falls more than 10 000 events behind loses the oldest.
func (s *Store) Follow(ctx context.Context, function string, since time.Time, fn func(Event) error) error {
	if !validFunction(function) {
		<-ctx.Done()
		return nil
	}
	sub := &subscriber{ch: make(chan struct{}, 1)}
	// Flush and register atomically, and note how far each file goes: events up to there are
	// read from disk, later ones arrive through the subscription, none twice.
	s.wmu.Lock()
	s.mu.Lock()
	batch, dropped := s.takeLocked()
	if s.subs[function] == nil {
		s.subs[function] = map[*subscriber]struct{}{}
	}
	s.subs[function][sub] = struct{}{}
	s.mu.Unlock()
	if err := s.write(batch, dropped); err != nil {
		s.log.Warn("invocationlog: flush", "err", err)
	}
	sizes := map[string]int64{}
	for _, seg := range s.segments(function) {
		sizes[seg.name] = seg.size
	}
	s.wmu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.subs[function], sub)
		if len(s.subs[function]) == 0 {
			delete(s.subs, function)
		}
		s.mu.Unlock()
	}()
	if err := s.scan(function, since, sizes, fn); err != nil {
		return err
	}
	for {
		s.mu.Lock()
		evs := sub.queue
		sub.queue = nil
		s.mu.Unlock()
		for _, ev := range evs {
			if ev.Time.Before(since) {
				continue
			}
			if err := fn(ev); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.stop:
			return nil
		case <-sub.ch:
		}
	}
}

func (s *Store) expire() {
	if s.retention <= 0 {
		return
	}
	cutoff := s.now().Add(-s.retention).UTC().Format(time.DateOnly)
	fns, err := os.ReadDir(s.dir)
	if err != nil {
		return
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	for _, fn := range fns {
		if !fn.IsDir() || !validFunction(fn.Name()) {
			continue
		}
		for _, seg := range s.segments(fn.Name()) {
			if seg.day < cutoff {
				s.usage[seg.fn] -= s.removeSeg(seg)
			}
		}
	}
}

// Close flushes and stops the store.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	<-s.done
	err := s.Flush()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	for _, f := range s.files {
		err = errors.Join(err, f.f.Close())
	}
	s.files = map[string]*dayFile{}
	return err
}

var _ io.Closer = (*Store)(nil)
