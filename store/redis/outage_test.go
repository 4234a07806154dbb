package redis_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/internal/redistest"
	"github.com/neighborbot/neighborbot/store"
	"github.com/neighborbot/neighborbot/store/storetest"
)

var (
	secretary = community.Actor{ID: "local:sec", Name: "王书记", Role: community.RoleSecretary}
	group     = community.Group{ID: "local:a", Platform: "local", Chat: "a", Name: "幸福里1群"}
)

func member(i int) community.Actor {
	return community.Actor{ID: "local:m" + itoa(i), Name: "党员" + itoa(i), Role: community.RoleMember}
}

func itoa(i int) string {
	return string(rune('0'+i/100%10)) + string(rune('0'+i/10%10)) + string(rune('0'+i%10))
}

func post(t testing.TB, s store.Store, slots int, now time.Time) *community.Item {
	t.Helper()
	it, err := s.CreateItem(context.Background(), func(no int64) (*community.Item, error) {
		return community.NewPost(no, group, secretary, "周六清理楼道", slots, time.Time{}, now)
	})
	if err != nil {
		t.Fatalf("CreateItem: %v", err)
	}
	return it
}

// Redis goes away and comes back: while it is down every operation fails with an error the
// edge recognizes as store.ErrUnavailable (服务暂时不可用), nothing panics, and once it is back
// the same store works again without being reopened, with the data it had (AOF).
func TestRedisDown(t *testing.T) {
	srv := redistest.StartServer(t, "--appendonly", "yes", "--appendfsync", "always")
	clock := storetest.NewClock(storetest.Epoch)
	s := MustOpen(t, "redis://"+srv.Addr, "nb", clock.Now)
	ctx := context.Background()
	it := post(t, s, 2, clock.Now())
	if err := s.Enqueue(ctx, store.OutboxEntry{ID: "m1", Platform: "local", Chat: "a", Payload: []byte("hi")}); err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	now := clock.Now()
	claim := func(it *community.Item) error {
		return it.Apply(community.Change{Action: community.ActClaim, Actor: member(1), At: now})
	}
	ops := map[string]func() error{
		"Ping":    func() error { return s.Ping(ctx) },
		"GetItem": func() error { _, err := s.GetItem(ctx, it.No); return err },
		"CreateItem": func() error {
			_, err := s.CreateItem(ctx, func(no int64) (*community.Item, error) {
				return community.NewPost(no, group, secretary, "x", 1, time.Time{}, now)
			})
			return err
		},
		"UpdateItem": func() error { _, err := s.UpdateItem(ctx, it.No, claim); return err },
		"ListItems":  func() error { _, err := s.ListItems(ctx, store.ItemFilter{Open: true}); return err },
		"GetPerson":  func() error { _, err := s.GetPerson(ctx, "local:x"); return err },
		"UpdatePerson": func() error {
			_, err := s.UpdatePerson(ctx, "local:x", func(*community.Person) error { return nil })
			return err
		},
		"Once":         func() error { _, err := s.Once(ctx, "k", time.Hour); return err },
		"PutInbound":   func() error { _, err := s.PutInbound(ctx, "ev1", []byte("p"), now); return err },
		"LeaseInbound": func() error { _, err := s.LeaseInbound(ctx, "w", 10, now, time.Minute); return err },
		"Enqueue":      func() error { return s.Enqueue(ctx, store.OutboxEntry{ID: "m2"}) },
		"LeaseOutbox":  func() error { _, err := s.LeaseOutbox(ctx, "o", 10, now, time.Minute); return err },
		"OutboxStats":  func() error { _, err := s.OutboxStats(ctx, ""); return err },
		"GetDoc":       func() error { _, err := s.GetDoc(ctx, "c", "d"); return err },
		"UpdateDoc": func() error {
			_, err := s.UpdateDoc(ctx, "c", "d", func(b []byte) ([]byte, error) { return b, nil })
			return err
		},
		"Limiter": func() error {
			_, err := s.Limiter().Take(ctx, []bot.Limit{{Key: "app", Every: time.Second, Burst: 1}}, now)
			return err
		},
	}
	for name, op := range ops {
		err := op()
		var unavailable *store.UnavailableError
		if !errors.As(err, &unavailable) {
			t.Errorf("%s with Redis down: %v, want a store.ErrUnavailable", name, err)
		}
	}

	srv.Restart()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping after restart: %v", err)
	}
	got, err := s.UpdateItem(ctx, it.No, claim)
	if err != nil {
		t.Fatalf("claim after restart: %v", err)
	}
	if got.Version != it.Version+1 || !got.ClaimedBy(member(1).ID) {
		t.Fatalf("after restart: v%d claimed by %v, want v%d claimed by %s", got.Version, got.Claims, it.Version+1, member(1).ID)
	}
	leased, err := s.LeaseOutbox(ctx, "o", 10, now, time.Minute)
	if err != nil || len(leased) != 1 || leased[0].ID != "m1" {
		t.Fatalf("outbox after restart: %v, %v; want m1 still there", leased, err)
	}
	for name, op := range ops {
		if err := op(); err != nil && community.ErrorCode(err) == "" {
			t.Errorf("%s after restart: %v", name, err)
		}
	}
}
