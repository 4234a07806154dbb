package redis_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/internal/redistest"
	"github.com/neighborbot/neighborbot/store"
)

// counter counts the commands a client sends, pipelined ones included, but not those that
// set up a new connection (HELLO, CLIENT SETINFO).
type counter struct{ n atomic.Int64 }

func (c *counter) DialHook(next goredis.DialHook) goredis.DialHook { return next }
func (c *counter) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error { c.count(cmd); return next(ctx, cmd) }
}
func (c *counter) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		for _, cmd := range cmds {
			c.count(cmd)
		}
		return next(ctx, cmds)
	}
}

func (c *counter) count(cmd goredis.Cmder) {
	switch strings.ToLower(cmd.Name()) {
	case "hello", "client", "auth", "select":
	default:
		c.n.Add(1)
	}
}

// The directory entry of an event's sender is read with the event's put, when the event is
// leased to the receiver (it handles it next): the worker's GetPerson then costs no round
// trip, once. A person not in the directory is read ahead as not found. Events not leased
// here are not read ahead; what this replica writes to the directory is never hidden by an
// older read ahead; a read ahead goes stale after its TTL.
func TestSenderReadAhead(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	s := MustOpen(t, "redis://"+redistest.Start(t), "ra", func() time.Time { return now })
	var c counter
	s.Client().AddHook(&c)
	if err := s.PutPerson(ctx, community.Person{ID: "feishu:ou_li", Name: "李建国", Role: community.RoleMember}); err != nil {
		t.Fatal(err)
	}
	put := func(id, sender string, leased bool) {
		t.Helper()
		e := store.InboundEntry{ID: id, Payload: []byte(`{}`), Sender: sender}
		if leased {
			e.LeaseOwner, e.LeaseUntil = "r1", now.Add(time.Minute)
		}
		if _, err := s.PutInboundBatch(ctx, []store.InboundEntry{e}, now); err != nil {
			t.Fatal(err)
		}
	}
	get := func(id string) (community.Person, error, int64) {
		t.Helper()
		before := c.n.Load()
		p, err := s.GetPerson(ctx, id)
		return p, err, c.n.Load() - before
	}

	put("feishu:e1", "feishu:ou_li", true)
	if p, err, cmds := get("feishu:ou_li"); err != nil || p.Name != "李建国" || cmds != 0 {
		t.Fatalf("sender read ahead: %+v, %v, %d commands; want 李建国 with none", p, err, cmds)
	}
	if _, _, cmds := get("feishu:ou_li"); cmds != 1 {
		t.Fatalf("second read: %d commands, want 1 (a read ahead is used once)", cmds)
	}
	put("feishu:e2", "feishu:ou_nobody", true)
	if _, err, cmds := get("feishu:ou_nobody"); community.ErrorCode(err) != community.ENotFound || cmds != 0 {
		t.Fatalf("unknown sender read ahead: %v, %d commands; want not found with none", err, cmds)
	}
	put("feishu:e3", "feishu:ou_li", false)
	if _, _, cmds := get("feishu:ou_li"); cmds != 1 {
		t.Fatalf("an event not leased here: %d commands, want 1 (not read ahead)", cmds)
	}

	put("feishu:e4", "feishu:ou_li", true)
	if _, err := s.UpdatePerson(ctx, "feishu:ou_li", func(p *community.Person) error { p.Name = "李建国（组长）"; return nil }); err != nil {
		t.Fatal(err)
	}
	if p, err, _ := get("feishu:ou_li"); err != nil || p.Name != "李建国（组长）" {
		t.Fatalf("after this replica's change: %+v, %v; want the new name", p, err)
	}
	put("feishu:e5", "feishu:ou_nobody", true)
	if err := s.PutPerson(ctx, community.Person{ID: "feishu:ou_nobody", Name: "新成员", Role: community.RoleMember}); err != nil {
		t.Fatal(err)
	}
	if p, err, _ := get("feishu:ou_nobody"); err != nil || p.Name != "新成员" {
		t.Fatalf("after this replica added them: %+v, %v", p, err)
	}

	s.SetAheadTTL(time.Millisecond)
	put("feishu:e6", "feishu:ou_li", true)
	time.Sleep(5 * time.Millisecond) // past the TTL set above
	if _, _, cmds := get("feishu:ou_li"); cmds != 1 {
		t.Fatalf("a stale read ahead: %d commands, want 1 (read again)", cmds)
	}
}

// Events put, persons read and the directory written from many goroutines at once: every read
// sees the person as written before it started or later, never older (run with -race).
func TestSenderReadAheadConcurrent(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	s := MustOpen(t, "redis://"+redistest.Start(t), "rc", func() time.Time { return now })
	const people, rounds = 8, 40
	var written [people]atomic.Int64 // the highest version whose write returned
	for i := range people {
		if err := s.PutPerson(ctx, community.Person{ID: fmt.Sprintf("feishu:u%d", i), Name: "v0"}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for i := range people {
		id := fmt.Sprintf("feishu:u%d", i)
		wg.Go(func() { // the writer
			for v := 1; v <= rounds; v++ {
				if err := s.PutPerson(ctx, community.Person{ID: id, Name: fmt.Sprintf("v%d", v)}); err != nil {
					t.Error(err)
					return
				}
				written[i].Store(int64(v))
			}
		})
		wg.Go(func() { // events from them, and reads
			for r := range rounds {
				floor := written[i].Load()
				e := store.InboundEntry{ID: fmt.Sprintf("feishu:%s-%d", id, r), Payload: []byte(`{}`), Sender: id, LeaseOwner: "r1", LeaseUntil: now.Add(time.Minute)}
				if _, err := s.PutInboundBatch(ctx, []store.InboundEntry{e}, now); err != nil {
					t.Error(err)
					return
				}
				p, err := s.GetPerson(ctx, id)
				var v int64
				if err == nil {
					_, err = fmt.Sscanf(p.Name, "v%d", &v)
				}
				if err != nil || v < floor {
					t.Errorf("%s read %q (%v) after version %d was written", id, p.Name, err, floor)
					return
				}
			}
		})
	}
	wg.Wait()
}
