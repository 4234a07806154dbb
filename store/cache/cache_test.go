package cache_test

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
	"github.com/neighborbot/neighborbot/store/bolt"
	"github.com/neighborbot/neighborbot/store/cache"
	"github.com/neighborbot/neighborbot/store/storetest"
)

// The wrapper meets the store contract: everything the suite writes goes through it, so it
// reads its own writes. Every collection the suite uses is cached.
func TestConformance(t *testing.T) {
	colls := []string{"cards", "flags", "notices", "nowhere", "receipts", "schedules", "tokens"}
	wrap := func(s store.Store) store.Store { return cache.New(s, cache.Options{Colls: colls}) }
	storetest.Run(t,
		func(t *testing.T, now func() time.Time) store.Store {
			return wrap(openBolt(t, filepath.Join(t.TempDir(), "neighborbot.db"), now))
		},
		func(t *testing.T, s store.Store, now func() time.Time) store.Store {
			raw := s.(*cache.Store).Unwrap()
			path := raw.(*bolt.Store).Path()
			if err := raw.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			return wrap(openBolt(t, path, now))
		},
		storetest.LeasesEndAtReopen())
}

func openBolt(tb testing.TB, path string, now func() time.Time) *bolt.Store {
	tb.Helper()
	s, err := bolt.Open(path, bolt.Options{Now: now})
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// counting counts the reads that reach the backend.
type counting struct {
	store.Store
	persons, groups, docs, lists, allP atomic.Int64
}

func (c *counting) GetPerson(ctx context.Context, id string) (community.Person, error) {
	c.persons.Add(1)
	return c.Store.GetPerson(ctx, id)
}
func (c *counting) GetGroup(ctx context.Context, id string) (community.Group, error) {
	c.groups.Add(1)
	return c.Store.GetGroup(ctx, id)
}
func (c *counting) ListPersons(ctx context.Context) ([]community.Person, error) {
	c.allP.Add(1)
	return c.Store.ListPersons(ctx)
}
func (c *counting) GetDoc(ctx context.Context, coll, id string) ([]byte, error) {
	c.docs.Add(1)
	return c.Store.GetDoc(ctx, coll, id)
}
func (c *counting) ListDocs(ctx context.Context, coll, prefix string) ([]store.Doc, error) {
	c.lists.Add(1)
	return c.Store.ListDocs(ctx, coll, prefix)
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	raw   *counting // the backend, as another replica writes to it
	c     *cache.Store
	clock *clock
	ctx   context.Context
}

func newFixture(t *testing.T, o cache.Options) *fixture {
	clk := &clock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	raw := &counting{Store: openBolt(t, filepath.Join(t.TempDir(), "neighborbot.db"), clk.Now)}
	o.Now = clk.Now
	return &fixture{raw: raw, c: cache.New(raw, o), clock: clk, ctx: context.Background()}
}

func TestRoleChangeThroughCacheIsSeenAtOnce(t *testing.T) {
	f := newFixture(t, cache.Options{TTL: time.Minute})
	if _, err := f.c.GetPerson(f.ctx, "feishu:ou_li"); community.ErrorCode(err) != community.ENotFound {
		t.Fatalf("unknown person: err %v, want not found", err)
	}
	if err := f.c.PutPerson(f.ctx, community.Person{ID: "feishu:ou_li", Name: "李建国", Role: community.RoleMember}); err != nil {
		t.Fatal(err)
	}
	p, err := f.c.GetPerson(f.ctx, "feishu:ou_li")
	if err != nil || p.Role != community.RoleMember {
		t.Fatalf("after PutPerson: %+v, %v; want the member", p, err)
	}
	if _, err := f.c.UpdatePerson(f.ctx, "feishu:ou_li", func(p *community.Person) error {
		p.Role = community.RoleSecretary
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if p, _ := f.c.GetPerson(f.ctx, "feishu:ou_li"); p.Role != community.RoleSecretary {
		t.Fatalf("after UpdatePerson: role %v, want secretary", p.Role)
	}
	ps, err := f.c.ListPersons(f.ctx)
	if err != nil || len(ps) != 1 || ps[0].Role != community.RoleSecretary {
		t.Fatalf("ListPersons: %+v, %v", ps, err)
	}
}

func TestWriteElsewhereIsSeenWithinTTL(t *testing.T) {
	f := newFixture(t, cache.Options{TTL: 5 * time.Second})
	must(t, f.raw.PutPerson(f.ctx, community.Person{ID: "wecom:wang", Name: "王", Role: community.RoleMember}))
	must(t, f.raw.PutGroup(f.ctx, community.Group{ID: "wecom:g1", Platform: "wecom", Chat: "g1", Node: "a"}))
	if p, _ := f.c.GetPerson(f.ctx, "wecom:wang"); p.Role != community.RoleMember {
		t.Fatalf("role %v", p.Role)
	}
	f.c.GetGroup(f.ctx, "wecom:g1")
	f.c.ListPersons(f.ctx)

	// Another replica promotes him and rebinds the group.
	must(t, f.raw.PutPerson(f.ctx, community.Person{ID: "wecom:wang", Name: "王", Role: community.RoleSecretary}))
	must(t, f.raw.PutGroup(f.ctx, community.Group{ID: "wecom:g1", Platform: "wecom", Chat: "g1", Node: "b"}))
	f.clock.Add(4 * time.Second)
	if p, _ := f.c.GetPerson(f.ctx, "wecom:wang"); p.Role != community.RoleMember {
		t.Fatalf("within the TTL the cached role is used: got %v", p.Role)
	}
	f.clock.Add(time.Second)
	if p, _ := f.c.GetPerson(f.ctx, "wecom:wang"); p.Role != community.RoleSecretary {
		t.Fatalf("after the TTL: role %v, want secretary", p.Role)
	}
	if g, _ := f.c.GetGroup(f.ctx, "wecom:g1"); g.Node != "b" {
		t.Fatalf("after the TTL: group node %q, want b", g.Node)
	}
	if ps, _ := f.c.ListPersons(f.ctx); len(ps) != 1 || ps[0].Role != community.RoleSecretary {
		t.Fatalf("after the TTL: ListPersons %+v", ps)
	}
}

func TestRepeatedReadsReachTheBackendOncePerTTL(t *testing.T) {
	f := newFixture(t, cache.Options{TTL: 5 * time.Second, Colls: []string{collMsgRef}})
	must(t, f.raw.PutGroup(f.ctx, community.Group{ID: "feishu:oc_1", Platform: "feishu", Chat: "oc_1"}))
	for range 10 {
		f.c.GetPerson(f.ctx, "feishu:ou_new")        // not found, and that is kept too
		f.c.GetGroup(f.ctx, "feishu:oc_1")           // found
		f.c.GetDoc(f.ctx, collMsgRef, "feishu:om_x") // not found
		f.c.ListPersons(f.ctx)
		f.c.GetDoc(f.ctx, "other", "x") // not a cached collection
	}
	if n := f.raw.persons.Load(); n != 1 {
		t.Errorf("GetPerson reached the backend %d times, want 1", n)
	}
	if n := f.raw.groups.Load(); n != 1 {
		t.Errorf("GetGroup reached the backend %d times, want 1", n)
	}
	if n := f.raw.allP.Load(); n != 1 {
		t.Errorf("ListPersons reached the backend %d times, want 1", n)
	}
	if n := f.raw.docs.Load(); n != 1+10 {
		t.Errorf("GetDoc reached the backend %d times, want 1 cached + 10 uncached", n)
	}
	f.clock.Add(5 * time.Second)
	f.c.GetPerson(f.ctx, "feishu:ou_new")
	if n := f.raw.persons.Load(); n != 2 {
		t.Errorf("after the TTL GetPerson reached the backend %d times in all, want 2", n)
	}
}

const collMsgRef = "msgref"

func TestDocWriteDropsCachedDocAndLists(t *testing.T) {
	f := newFixture(t, cache.Options{TTL: time.Hour, Colls: []string{"notice_recent", collMsgRef}})
	if _, err := f.c.GetDoc(f.ctx, collMsgRef, "feishu:om_1"); community.ErrorCode(err) != community.ENotFound {
		t.Fatalf("GetDoc: %v", err)
	}
	if ds, _ := f.c.ListDocs(f.ctx, "notice_recent", ""); len(ds) != 0 {
		t.Fatalf("ListDocs: %v", ds)
	}
	// The dispatcher records the card it just sent; a notice is sent.
	must(t, f.c.PutDoc(f.ctx, collMsgRef, "feishu:om_1", []byte("item:7")))
	must(t, f.c.PutDoc(f.ctx, "notice_recent", "00001", []byte(`{}`)))
	if v, err := f.c.GetDoc(f.ctx, collMsgRef, "feishu:om_1"); err != nil || string(v) != "item:7" {
		t.Fatalf("GetDoc after PutDoc: %q, %v", v, err)
	}
	if ds, _ := f.c.ListDocs(f.ctx, "notice_recent", ""); len(ds) != 1 {
		t.Fatalf("ListDocs after PutDoc: %v", ds)
	}
	if _, err := f.c.UpdateDoc(f.ctx, "notice_recent", "00001", func([]byte) ([]byte, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	if ds, _ := f.c.ListDocs(f.ctx, "notice_recent", ""); len(ds) != 0 {
		t.Fatalf("ListDocs after the delete: %v", ds)
	}
	must(t, f.c.DeleteDoc(f.ctx, collMsgRef, "feishu:om_1"))
	if _, err := f.c.GetDoc(f.ctx, collMsgRef, "feishu:om_1"); community.ErrorCode(err) != community.ENotFound {
		t.Fatalf("GetDoc after DeleteDoc: %v", err)
	}
}

func TestCallersGetCopies(t *testing.T) {
	f := newFixture(t, cache.Options{TTL: time.Hour, Colls: []string{"c"}})
	must(t, f.c.PutPerson(f.ctx, community.Person{ID: "local:a", Name: "A", Duties: []string{"调查员"}}))
	must(t, f.c.PutDoc(f.ctx, "c", "x", []byte("abc")))
	p, _ := f.c.GetPerson(f.ctx, "local:a")
	p.Duties[0] = "changed"
	ps, _ := f.c.ListPersons(f.ctx)
	ps[0].Name = "changed"
	v, _ := f.c.GetDoc(f.ctx, "c", "x")
	v[0] = 'z'
	if p, _ := f.c.GetPerson(f.ctx, "local:a"); p.Duties[0] != "调查员" {
		t.Errorf("a caller's change reached the cache: %v", p.Duties)
	}
	if ps, _ := f.c.ListPersons(f.ctx); ps[0].Name != "A" {
		t.Errorf("a caller's change reached the cached list: %v", ps[0].Name)
	}
	if v, _ := f.c.GetDoc(f.ctx, "c", "x"); string(v) != "abc" {
		t.Errorf("a caller's change reached the cached doc: %q", v)
	}
}

func TestBounded(t *testing.T) {
	f := newFixture(t, cache.Options{TTL: time.Hour, MaxEntries: 100})
	for i := range 1000 {
		f.c.GetPerson(f.ctx, "local:p"+string(rune('a'+i%26))+string(rune('a'+i/26)))
	}
	before := f.raw.persons.Load()
	// With 1,000 distinct ids and room for 100, most of the early ones are gone: asking for
	// them again reaches the backend.
	for i := range 100 {
		f.c.GetPerson(f.ctx, "local:p"+string(rune('a'+i%26))+string(rune('a'+i/26)))
	}
	if again := f.raw.persons.Load() - before; again < 50 {
		t.Errorf("only %d of 100 early ids were read again: the cache kept more than its bound", again)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// The secretaries come from the cached directory without copying all of it, and a promotion
// through the cache counts at once.
func TestListPersonsByRole(t *testing.T) {
	f := newFixture(t, cache.Options{TTL: time.Hour})
	for i, role := range []community.Role{community.RoleResident, community.RoleSecretary, community.RoleMember, community.RoleResident} {
		must(t, f.c.PutPerson(f.ctx, community.Person{ID: "local:p" + string(rune('a'+i)), Name: "P", Role: role}))
	}
	secs, err := f.c.ListPersonsByRole(f.ctx, community.RoleSecretary)
	if err != nil || len(secs) != 1 || secs[0].ID != "local:pb" {
		t.Fatalf("secretaries: %+v, %v; want local:pb", secs, err)
	}
	f.c.ListPersonsByRole(f.ctx, community.RoleSecretary)
	f.c.ListPersons(f.ctx)
	if n := f.raw.allP.Load(); n != 1 {
		t.Errorf("the directory was read %d times, want once", n)
	}
	if _, err := f.c.UpdatePerson(f.ctx, "local:pc", func(p *community.Person) error {
		p.Role = community.RoleSecretary
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	secs, _ = f.c.ListPersonsByRole(f.ctx, community.RoleSecretary)
	if len(secs) != 2 || secs[0].ID != "local:pb" || secs[1].ID != "local:pc" {
		t.Fatalf("after the promotion: %+v, want local:pb and local:pc", secs)
	}
	secs[0].Name = "changed"
	if again, _ := f.c.ListPersonsByRole(f.ctx, community.RoleSecretary); again[0].Name != "P" {
		t.Errorf("a caller's change reached the cache: %q", again[0].Name)
	}
}
