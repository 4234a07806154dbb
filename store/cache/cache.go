// Package cache keeps, in process, what the inbound path reads on every event: people and
// groups (Identify, the secretaries of a group, a node's home group) and the documents of a
// few collections (the card a message replies to, the notices a bare 收到 may mean). It wraps
// a store.Store; every other method goes straight through.
//
// Staleness. A write made through the wrapper drops what it changes at once, so this process
// reads its own writes. A write made elsewhere (another replica on the same Redis, a tool on
// the store) is seen within TTL: every entry, found or not found, is used for at most TTL
// after it was read. A role change made on another replica takes effect here within TTL
// (default 5 s). A read that raced a local write is not kept.
package cache

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// Options configure a Store.
type Options struct {
	// TTL bounds how long an entry is used: the staleness a write on another replica can
	// cause here. Default 5 s.
	TTL time.Duration
	// MaxEntries bounds each of the caches (people, groups, documents); beyond it entries are
	// dropped, about an eighth at a time. Default 50,000.
	MaxEntries int
	// Colls are the Docs collections whose GetDoc and ListDocs are cached. Others go through.
	Colls []string
	// Now is the clock of the TTL; default time.Now. It need not be the community's clock.
	Now func() time.Time
}

// Store is a store.Store whose directory reads and some document reads are cached.
type Store struct {
	store.Store
	ttl   time.Duration
	max   int
	now   func() time.Time
	colls map[string]bool

	mu      sync.Mutex
	dirGen  uint64 // bumped by every person or group write
	persons map[string]entry[community.Person]
	groups  map[string]entry[community.Group]
	allP    *entry[[]community.Person]
	byRole  map[community.Role]entry[[]community.Person] // filtered from allP
	allG    *entry[[]community.Group]
	docGen  map[string]uint64 // per collection, bumped by every write to it
	docs    map[docKey]entry[[]byte]
	lists   map[docKey]entry[[]store.Doc]
}

type entry[T any] struct {
	v   T
	err error // a not-found answer, kept like a value
	exp time.Time
}

type docKey struct{ coll, id string }

// New wraps st.
func New(st store.Store, o Options) *Store {
	if o.TTL <= 0 {
		o.TTL = 5 * time.Second
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = 50_000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &Store{
		Store: st, ttl: o.TTL, max: o.MaxEntries, now: o.Now, colls: map[string]bool{},
		persons: map[string]entry[community.Person]{}, groups: map[string]entry[community.Group]{},
		docGen: map[string]uint64{}, docs: map[docKey]entry[[]byte]{}, lists: map[docKey]entry[[]store.Doc]{},
	}
	for _, coll := range o.Colls {
		c.colls[coll] = true
	}
	return c
}

// Unwrap is the wrapped store (for type assertions on the backend's own powers).
func (c *Store) Unwrap() store.Store { return c.Store }

// cacheable reports whether a backend's answer may be kept: values and not-found, not
// failures to reach it.
func cacheable(err error) bool {
	return err == nil || community.ErrorCode(err) == community.ENotFound
}

// put stores e in m under k, making room first when m is full.
func put[K comparable, T any](m map[K]entry[T], max int, k K, e entry[T]) {
	if len(m) >= max {
		drop := max/8 + 1
		for key := range m { // map iteration starts anywhere: a cheap random eviction
			delete(m, key)
			if drop--; drop == 0 {
				break
			}
		}
	}
	m[k] = e
}

// through answers k from m while its entry is fresh, else with fetch, whose answer (a value
// or not-found) it keeps in m unless gen moved while fetching (a write overlapped the read).
// clone copies a value on its way in and out, so no caller can change what is kept.
func through[K comparable, T any](c *Store, m map[K]entry[T], k K, gen func() uint64, fetch func() (T, error), clone func(T) T) (T, error) {
	now := c.now()
	c.mu.Lock()
	if e, ok := m[k]; ok && now.Before(e.exp) {
		c.mu.Unlock()
		return clone(e.v), e.err
	}
	g := gen()
	c.mu.Unlock()
	v, err := fetch()
	if cacheable(err) {
		c.mu.Lock()
		if gen() == g {
			put(m, c.max, k, entry[T]{v: clone(v), err: err, exp: now.Add(c.ttl)})
		}
		c.mu.Unlock()
	}
	return v, err
}

// dirGeneration is through's gen for people and groups. c.mu held.
func (c *Store) dirGeneration() uint64 { return c.dirGen }

// GetPerson implements store.Directory.
func (c *Store) GetPerson(ctx context.Context, id string) (community.Person, error) {
	return through(c, c.persons, id, c.dirGeneration,
		func() (community.Person, error) { return c.Store.GetPerson(ctx, id) }, clonePerson)
}

// GetGroup implements store.Directory.
func (c *Store) GetGroup(ctx context.Context, id string) (community.Group, error) {
	return through(c, c.groups, id, c.dirGeneration,
		func() (community.Group, error) { return c.Store.GetGroup(ctx, id) },
		func(g community.Group) community.Group { return g })
}

// ListPersons implements store.Directory. The list is shared: callers get a copy.
func (c *Store) ListPersons(ctx context.Context) ([]community.Person, error) {
	ps, _, err := c.everyone(ctx)
	if err != nil {
		return nil, err
	}
	return clonePersons(ps), nil
}

// persons_ is the cached list of everyone (not to be changed: it is shared) and when it
// expires.
func (c *Store) everyone(ctx context.Context) ([]community.Person, time.Time, error) {
	now := c.now()
	c.mu.Lock()
	if e := c.allP; e != nil && now.Before(e.exp) {
		c.mu.Unlock()
		return e.v, e.exp, nil
	}
	gen := c.dirGen
	c.mu.Unlock()
	ps, err := c.Store.ListPersons(ctx)
	if err != nil {
		return nil, time.Time{}, err
	}
	ps = clonePersons(ps)
	exp := now.Add(c.ttl)
	c.mu.Lock()
	if c.dirGen == gen {
		c.allP = &entry[[]community.Person]{v: ps, exp: exp}
	}
	c.mu.Unlock()
	return ps, exp, nil
}

// ListPersonsByRole is everyone with role, in ListPersons' order: a few secretaries out of
// thousands of residents, without copying the whole directory for each question.
func (c *Store) ListPersonsByRole(ctx context.Context, role community.Role) ([]community.Person, error) {
	now := c.now()
	c.mu.Lock()
	if e, ok := c.byRole[role]; ok && now.Before(e.exp) {
		c.mu.Unlock()
		return clonePersons(e.v), nil
	}
	gen := c.dirGen
	c.mu.Unlock()
	all, exp, err := c.everyone(ctx)
	if err != nil {
		return nil, err
	}
	var out []community.Person
	for _, p := range all {
		if p.Role == role {
			out = append(out, p)
		}
	}
	c.mu.Lock()
	if c.dirGen == gen {
		if c.byRole == nil {
			c.byRole = map[community.Role]entry[[]community.Person]{}
		}
		c.byRole[role] = entry[[]community.Person]{v: out, exp: exp}
	}
	c.mu.Unlock()
	return clonePersons(out), nil
}

// ListGroups implements store.Directory. Callers get a copy.
func (c *Store) ListGroups(ctx context.Context) ([]community.Group, error) {
	now := c.now()
	c.mu.Lock()
	if e := c.allG; e != nil && now.Before(e.exp) {
		c.mu.Unlock()
		return slices.Clone(e.v), nil
	}
	gen := c.dirGen
	c.mu.Unlock()
	gs, err := c.Store.ListGroups(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.dirGen == gen {
		c.allG = &entry[[]community.Group]{v: slices.Clone(gs), exp: now.Add(c.ttl)}
	}
	c.mu.Unlock()
	return gs, nil
}

// PutPerson implements store.Directory.
func (c *Store) PutPerson(ctx context.Context, p community.Person) error {
	err := c.Store.PutPerson(ctx, p)
	c.forgetPerson(p.ID)
	return err
}

// UpdatePerson implements store.Directory.
func (c *Store) UpdatePerson(ctx context.Context, id string, fn func(p *community.Person) error) (community.Person, error) {
	p, err := c.Store.UpdatePerson(ctx, id, fn)
	c.forgetPerson(id)
	return p, err
}

// PutGroup implements store.Directory.
func (c *Store) PutGroup(ctx context.Context, g community.Group) error {
	err := c.Store.PutGroup(ctx, g)
	c.mu.Lock()
	c.dirGen++
	delete(c.groups, g.ID)
	c.allG = nil
	c.mu.Unlock()
	return err
}

// forgetPerson drops what a write to person id may have changed. It runs after the write
// (whatever its outcome), and the generation keeps a read that overlapped it from being kept.
func (c *Store) forgetPerson(id string) {
	c.mu.Lock()
	c.dirGen++
	delete(c.persons, id)
	c.allP, c.byRole = nil, nil
	c.mu.Unlock()
}

// GetDoc implements store.Docs.
func (c *Store) GetDoc(ctx context.Context, coll, id string) ([]byte, error) {
	if !c.colls[coll] {
		return c.Store.GetDoc(ctx, coll, id)
	}
	return through(c, c.docs, docKey{coll, id}, func() uint64 { return c.docGen[coll] },
		func() ([]byte, error) { return c.Store.GetDoc(ctx, coll, id) }, bytes.Clone)
}

// ListDocs implements store.Docs.
func (c *Store) ListDocs(ctx context.Context, coll, prefix string) ([]store.Doc, error) {
	if !c.colls[coll] {
		return c.Store.ListDocs(ctx, coll, prefix)
	}
	k := docKey{coll, prefix}
	now := c.now()
	c.mu.Lock()
	if e, ok := c.lists[k]; ok && now.Before(e.exp) {
		c.mu.Unlock()
		return cloneDocs(e.v), nil
	}
	gen := c.docGen[coll]
	c.mu.Unlock()
	ds, err := c.Store.ListDocs(ctx, coll, prefix)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.docGen[coll] == gen {
		put(c.lists, c.max, k, entry[[]store.Doc]{v: cloneDocs(ds), exp: now.Add(c.ttl)})
	}
	c.mu.Unlock()
	return ds, nil
}

// PutDoc implements store.Docs.
func (c *Store) PutDoc(ctx context.Context, coll, id string, value []byte) error {
	err := c.Store.PutDoc(ctx, coll, id, value)
	c.forgetDoc(coll, id)
	return err
}

// UpdateDoc implements store.Docs.
func (c *Store) UpdateDoc(ctx context.Context, coll, id string, fn func(old []byte) ([]byte, error)) ([]byte, error) {
	v, err := c.Store.UpdateDoc(ctx, coll, id, fn)
	c.forgetDoc(coll, id)
	return v, err
}

// DeleteDoc implements store.Docs.
func (c *Store) DeleteDoc(ctx context.Context, coll, id string) error {
	err := c.Store.DeleteDoc(ctx, coll, id)
	c.forgetDoc(coll, id)
	return err
}

func (c *Store) forgetDoc(coll, id string) {
	if !c.colls[coll] {
		return
	}
	c.mu.Lock()
	c.docGen[coll]++
	delete(c.docs, docKey{coll, id})
	for k := range c.lists {
		if k.coll == coll {
			delete(c.lists, k)
		}
	}
	c.mu.Unlock()
}

func clonePerson(p community.Person) community.Person {
	p.Duties = slices.Clone(p.Duties)
	p.Teams = slices.Clone(p.Teams)
	return p
}

func clonePersons(ps []community.Person) []community.Person {
	out := slices.Clone(ps)
	for i := range out {
		if out[i].Duties != nil || out[i].Teams != nil {
			out[i] = clonePerson(out[i])
		}
	}
	return out
}

func cloneDocs(ds []store.Doc) []store.Doc {
	out := slices.Clone(ds)
	for i := range out {
		out[i].Value = bytes.Clone(out[i].Value)
	}
	return out
}
