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
	wmu   sync.Mutex
	files map[string]*dayFile
	wbuf  []byte // reused by write

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
	day string
	f   *os.File
}

type subscriber struct {
	ch    chan struct{} // notified (non-blocking) when new events arrive
	queue []Event       // guarded by Store.mu
}

// Open opens (creating) a store in dir. retention <= 0 keeps logs forever. Close stops it.
func Open(dir string, retention time.Duration, log *slog.Logger) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("invocationlog: open: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{
		dir: dir, retention: retention, log: log, now: time.Now,
		pending: map[string][]Event{},
		subs:    map[string]map[*subscriber]struct{}{},
		files:   map[string]*dayFile{},
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
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

// write writes a batch taken from pending. The caller holds wmu, not mu.
func (s *Store) write(batch map[string][]Event, dropped int) error {
	if dropped > 0 {
		s.log.Warn("invocationlog: log lines dropped: more buffered than written", "lines", dropped, "limit_bytes", maxPendingBytes)
	}
	var errs []error
	buf := s.wbuf[:0]
	defer func() {
		if cap(buf) <= 1<<20 {
			s.wbuf = buf[:0]
		}
	}()
	for fn, evs := range batch {
		if len(evs) == 0 {
			continue
		}
		buf = buf[:0]
		var cur *dayFile
		var day string
		var dy, dd int
		var dm time.Month
		for _, ev := range evs {
			// The day's name is formatted once per day, not once per event.
			if y, m, d := ev.Time.UTC().Date(); day == "" || y != dy || m != dm || d != dd {
				day, dy, dm, dd = ev.Time.UTC().Format(time.DateOnly), y, m, d
			}
			if cur == nil || cur.day != day {
				if len(buf) > 0 && cur != nil {
					if _, err := cur.f.Write(buf); err != nil {
						errs = append(errs, err)
					}
					buf = buf[:0]
				}
				f, err := s.fileLocked(fn, day)
				if err != nil {
					errs = append(errs, err)
					cur = nil
					continue
				}
				cur = f
			}
			buf = appendRecord(buf, ev)
		}
		if len(buf) > 0 && cur != nil {
			if _, err := cur.f.Write(buf); err != nil {
				errs = append(errs, err)
			}
		}
		clear(evs)
		delete(batch, fn)
	}
	return errors.Join(errs...)
}

// fileLocked returns the function's file for day; the caller holds wmu.
func (s *Store) fileLocked(fn, day string) (*dayFile, error) {
	if f := s.files[fn]; f != nil && f.day == day {
		return f, nil
	} else if f != nil {
		f.f.Close()
		delete(s.files, fn)
	}
	d := filepath.Join(s.dir, fn)
	if err := os.MkdirAll(d, 0o700); err != nil {
		return nil, fmt.Errorf("invocationlog: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(d, day+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("invocationlog: %w", err)
	}
	df := &dayFile{day: day, f: f}
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
	ents, err := os.ReadDir(d)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("invocationlog: read: %w", err)
	}
	var days []string
	sinceDay := since.UTC().Format(time.DateOnly)
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".log")
		if !ok || name < sinceDay {
			continue
		}
		if sizes != nil {
			if _, ok := sizes[name]; !ok {
				continue
			}
		}
		days = append(days, name)
	}
	sort.Strings(days)
	for _, day := range days {
		f, err := os.Open(filepath.Join(d, day+".log"))
		if err != nil {
			continue
		}
		var r io.Reader = f
		if sizes != nil {
			r = io.LimitReader(f, sizes[day])
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
	if ents, err := os.ReadDir(filepath.Join(s.dir, function)); err == nil {
		for _, e := range ents {
			if day, ok := strings.CutSuffix(e.Name(), ".log"); ok {
				if fi, err := e.Info(); err == nil {
					sizes[day] = fi.Size()
				}
			}
		}
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
	for _, fn := range fns {
		if !fn.IsDir() {
			continue
		}
		d := filepath.Join(s.dir, fn.Name())
		files, _ := os.ReadDir(d)
		for _, f := range files {
			if day, ok := strings.CutSuffix(f.Name(), ".log"); ok && day < cutoff {
				s.wmu.Lock()
				if df := s.files[fn.Name()]; df != nil && df.day == day {
					df.f.Close()
					delete(s.files, fn.Name())
				}
				s.wmu.Unlock()
				if err := os.Remove(filepath.Join(d, f.Name())); err != nil {
					s.log.Warn("invocationlog: expire", "err", err)
				}
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
