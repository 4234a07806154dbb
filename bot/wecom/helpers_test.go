package wecom_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/bot/bottest"
	"github.com/neighborbot/neighborbot/bot/wecom"
	"github.com/neighborbot/neighborbot/bot/wecom/wecomtest"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

const (
	corpID  = "wwneighborbot0001"
	secret  = "app-secret"
	token   = "QDG6eK"
	aesKey  = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	aiToken = "aibot-token"
	aiKey   = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
)

var shanghai = time.FixedZone("CST", 8*3600)

// memStore is an in-memory Docs and Directory.
type memStore struct {
	mu      sync.Mutex
	docs    map[string][]byte
	groups  map[string]community.Group
	persons []community.Person
}

func newMemStore() *memStore {
	return &memStore{docs: map[string][]byte{}, groups: map[string]community.Group{}}
}

func (s *memStore) GetDoc(_ context.Context, coll, id string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.docs[coll+"/"+id]
	if !ok {
		return nil, store.ErrNotFound("doc")
	}
	return bytes.Clone(v), nil
}

func (s *memStore) PutDoc(_ context.Context, coll, id string, v []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.docs[coll+"/"+id] = bytes.Clone(v)
	return nil
}

func (s *memStore) UpdateDoc(_ context.Context, coll, id string, fn func([]byte) ([]byte, error)) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.docs[coll+"/"+id]
	if !ok {
		old = nil
	}
	v, err := fn(bytes.Clone(old))
	if err != nil {
		return nil, err
	}
	if v == nil {
		delete(s.docs, coll+"/"+id)
		return nil, nil
	}
	s.docs[coll+"/"+id] = bytes.Clone(v)
	return v, nil
}

func (s *memStore) GetGroup(_ context.Context, id string) (community.Group, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[id]
	if !ok {
		return community.Group{}, store.ErrNotFound("group")
	}
	return g, nil
}

func (s *memStore) PutGroup(_ context.Context, g community.Group) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups[g.ID] = g
	return nil
}

func (s *memStore) ListPersons(context.Context) ([]community.Person, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.persons), nil
}

// receiver records what the callbacks hand to the pipeline.
type receiver struct {
	mu   sync.Mutex
	msgs []bot.Message
	err  error
}

func (r *receiver) Receive(_ context.Context, m bot.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.msgs = append(r.msgs, m)
	return nil
}

func (r *receiver) got() []bot.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.msgs)
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is one adapter wired to a fake WeCom, an in-memory store and a recording receiver.
type env struct {
	t     *testing.T
	fake  *wecomtest.Server
	store *memStore
	clock *clock
	log   *bottest.LogBuffer
	p     *wecom.Platform
	in    *receiver
	srv   *httptest.Server
	app   *wecomtest.Callbacks
	aibot *wecomtest.Callbacks
}

func newEnv(t *testing.T, tweak ...func(*wecom.Options)) *env {
	t.Helper()
	e := &env{t: t, fake: wecomtest.New(t, corpID, secret), store: newMemStore(),
		clock: &clock{t: time.Date(2026, 5, 6, 9, 30, 0, 0, shanghai)}, log: &bottest.LogBuffer{}, in: &receiver{}}
	e.store.groups["wecom:wrchat"] = community.Group{ID: "wecom:wrchat", Platform: "wecom", Chat: "wrchat", Name: "幸福里小区群", Node: "grid1"}
	e.store.groups["wecom:wrrobot"] = community.Group{ID: "wecom:wrrobot", Platform: "wecom", Chat: "wrrobot", Name: "和平里小区群", Node: "grid2", RobotKey: "robot-key-2"}
	e.store.persons = []community.Person{
		{ID: "wecom:wang", Name: "王师傅", Role: community.RoleMember, Node: "grid1"},
		{ID: "wecom:li", Name: "李党员", Role: community.RoleMember, Node: "grid2"},
		{ID: "wecom:chen", Name: "陈阿姨", Role: community.RoleResident, Node: "grid1"},
		{ID: "wecom:sec", Name: "赵书记", Role: community.RoleSecretary, Node: "grid1"},
		{ID: "feishu:ou_x", Name: "飞书党员", Role: community.RoleMember, Node: "grid1"},
	}
	o := wecom.Options{
		CorpID: corpID, AgentID: "1000002", Secret: secret, Token: token, AESKey: aesKey,
		AIBotToken: aiToken, AIBotAESKey: aiKey, BaseURL: e.fake.URL + "/", BotName: "邻里帮",
		Robots: map[string]string{"wrconfig": "robot-key-1"}, Directory: e.store, Docs: e.store,
		Now: e.clock.Now, Log: slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, f := range tweak {
		f(&o)
	}
	p, err := wecom.New(o)
	if err != nil {
		t.Fatal(err)
	}
	e.p = p
	mux := http.NewServeMux()
	p.Routes(mux, e.in)
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	e.app = &wecomtest.Callbacks{Token: token, AESKey: aesKey, ReceiveID: corpID, Now: e.clock.Now}
	e.aibot = &wecomtest.Callbacks{Token: aiToken, AESKey: aiKey, Now: e.clock.Now}
	return e
}

// do sends a request to the adapter and returns the status and body.
func (e *env) do(req *http.Request) (int, string) {
	e.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

func sendError(t *testing.T, err error) *bot.SendError {
	t.Helper()
	var se *bot.SendError
	if !errors.As(err, &se) {
		t.Fatalf("error %v is not a *bot.SendError", err)
	}
	return se
}
