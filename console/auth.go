package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// The store's collections of the console: sign-in links and sessions, each keyed by the
// SHA-256 of its token, so a copy of the store (a dump, a backup) holds no usable token.
const (
	CollLinks    = "console-link"
	CollSessions = "console-session"
)

const (
	// LinkTTL is how long a sign-in link sent in the chat may be opened.
	LinkTTL = 10 * time.Minute
	// IdleTTL ends a session nobody used for that long.
	IdleTTL = 12 * time.Hour
	// touchEvery bounds the writes that keep a session alive: one a minute at most, not one
	// per page.
	touchEvery = time.Minute
	// keepUsed is how long a used or expired link is remembered, so opening it again says
	// what happened to it instead of "unknown link".
	keepUsed = 24 * time.Hour

	sessionCookie = "nb_console"
	loginCookie   = "nb_console_login" // the sign-in form's CSRF token (before any session)
	stateCookie   = "nb_console_oauth" // a web login's state, until its callback
)

// linkDoc is a sign-in link as stored.
type linkDoc struct {
	Person  string    `json:"person"`
	Expires time.Time `json:"expires"`
	Used    time.Time `json:"used,omitzero"`
}

// Session is a signed-in browser.
type Session struct {
	ID      string    `json:"-"` // the store key: the token's hash
	Person  string    `json:"person"`
	CSRF    string    `json:"csrf"`
	Via     string    `json:"via"` // "chat", or the provider's name
	Created time.Time `json:"created"`
	Seen    time.Time `json:"seen"`
}

// Viewer is who is looking at a page: the signed-in person, as the authority rule sees them.
type Viewer struct {
	Person  community.Person
	Actor   community.Actor
	Session *Session
}

// ViewerOf is p as a viewer outside any session (benchmarks, tests).
func ViewerOf(p community.Person) *Viewer {
	return &Viewer{Person: p, Actor: community.ActorOf(p), Session: &Session{Person: p.ID}}
}

// Allowed reports whether p may use the console: secretaries and the street office. Members,
// residents and registrations not yet approved may not.
func Allowed(p community.Person) bool {
	return community.ActorOf(p).Role.AtLeast(community.RoleSecretary)
}

// RefusedText is what a member or resident hears when they ask for the console.
const RefusedText = "指挥中心（控制台）仅供社区书记和街道工作人员使用。需要帮助的事，直接 @我 说明即可；发送“帮助”查看可以用的命令。"

// token returns 32 random bytes from crypto/rand, URL-safe, and the hash it is stored under.
func token() (tok, id string, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", err
	}
	tok = base64.RawURLEncoding.EncodeToString(b[:])
	return tok, hashID(tok), nil
}

func hashID(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// NewLink issues a one-time sign-in link for person, valid for LinkTTL. It is an absolute
// URL under the console's BaseURL.
func (c *Console) NewLink(ctx context.Context, person string) (string, error) {
	tok, id, err := token()
	if err != nil {
		return "", err
	}
	b, _ := json.Marshal(linkDoc{Person: person, Expires: c.now().Add(LinkTTL)})
	if err := c.o.Store.PutDoc(ctx, CollLinks, id, b); err != nil {
		return "", store.ErrUnavailable(err)
	}
	return c.BaseURL() + "/console/login?t=" + url.QueryEscape(tok), nil
}

// linkState is what opening a link finds.
type linkState int

const (
	linkOK linkState = iota
	linkUnknown
	linkExpired
	linkUsed
)

// peekLink says what a link is, without using it.
func (c *Console) peekLink(ctx context.Context, tok string) (linkState, error) {
	if tok == "" {
		return linkUnknown, nil
	}
	b, err := c.o.Store.GetDoc(ctx, CollLinks, hashID(tok))
	if community.ErrorCode(err) == community.ENotFound {
		return linkUnknown, nil
	} else if err != nil {
		return 0, store.ErrUnavailable(err)
	}
	var l linkDoc
	if err := json.Unmarshal(b, &l); err != nil {
		return linkUnknown, nil
	}
	return c.linkStateOf(l), nil
}

func (c *Console) linkStateOf(l linkDoc) linkState {
	switch {
	case !l.Used.IsZero():
		return linkUsed
	case !c.now().Before(l.Expires):
		return linkExpired
	}
	return linkOK
}

// TakeLink uses a link: atomically, so of two browsers (or two replicas) opening it at once
// exactly one gets the person; the other finds it used. ok is false for a link that cannot
// start a session (unknown, expired or used).
func (c *Console) TakeLink(ctx context.Context, tok string) (person string, ok bool, err error) {
	person, st, err := c.takeLink(ctx, tok)
	return person, err == nil && st == linkOK, err
}

func (c *Console) takeLink(ctx context.Context, tok string) (person string, st linkState, err error) {
	if tok == "" {
		return "", linkUnknown, nil
	}
	_, err = c.o.Store.UpdateDoc(ctx, CollLinks, hashID(tok), func(old []byte) ([]byte, error) {
		person, st = "", linkUnknown // fn may run more than once
		if old == nil {
			return nil, errNoChange
		}
		var l linkDoc
		if err := json.Unmarshal(old, &l); err != nil {
			return nil, errNoChange
		}
		if st = c.linkStateOf(l); st != linkOK {
			return nil, errNoChange
		}
		l.Used = c.now()
		person = l.Person
		return json.Marshal(l)
	})
	if errors.Is(err, errNoChange) {
		return "", st, nil
	}
	if err != nil {
		return "", 0, store.ErrUnavailable(err)
	}
	return person, linkOK, nil
}

// errNoChange leaves a doc as it is from inside UpdateDoc.
var errNoChange = errors.New("console: no change")

// StartSession opens a session for person and sets its cookie.
func (c *Console) StartSession(ctx context.Context, w http.ResponseWriter, r *http.Request, person, via string) error {
	tok, id, err := token()
	if err != nil {
		return err
	}
	csrf, _, err := token()
	if err != nil {
		return err
	}
	now := c.now()
	s := Session{Person: person, CSRF: csrf, Via: via, Created: now, Seen: now}
	b, _ := json.Marshal(s)
	if err := c.o.Store.PutDoc(ctx, CollSessions, id, b); err != nil {
		return store.ErrUnavailable(err)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: tok, Path: "/console/", HttpOnly: true,
		Secure: secureCookie(r), SameSite: http.SameSiteLaxMode, MaxAge: int(IdleTTL / time.Second)})
	c.log.Info("console session started", "person", person, "via", via)
	return nil
}

// session is the request's live session, or nil. A session idle for IdleTTL is deleted.
func (c *Console) session(ctx context.Context, r *http.Request) (*Session, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return nil, nil
	}
	id := hashID(ck.Value)
	b, err := c.o.Store.GetDoc(ctx, CollSessions, id)
	if community.ErrorCode(err) == community.ENotFound {
		return nil, nil
	} else if err != nil {
		return nil, store.ErrUnavailable(err)
	}
	var s Session
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, nil
	}
	s.ID = id
	now := c.now()
	if now.Sub(s.Seen) >= IdleTTL {
		_ = c.o.Store.DeleteDoc(ctx, CollSessions, id)
		return nil, nil
	}
	if now.Sub(s.Seen) >= touchEvery {
		s.Seen = now
		b, _ := json.Marshal(s)
		if err := c.o.Store.PutDoc(ctx, CollSessions, id, b); err != nil {
			c.log.Warn("console session not refreshed", "err", err)
		}
	}
	return &s, nil
}

// EndSessions signs person out everywhere (退出控制台) and reports how many sessions ended.
func (c *Console) EndSessions(ctx context.Context, person string) (int, error) {
	docs, err := c.o.Store.ListDocs(ctx, CollSessions, "")
	if err != nil {
		return 0, store.ErrUnavailable(err)
	}
	n := 0
	for _, d := range docs {
		var s Session
		if json.Unmarshal(d.Value, &s) == nil && s.Person == person {
			if err := c.o.Store.DeleteDoc(ctx, CollSessions, d.ID); err != nil {
				return n, store.ErrUnavailable(err)
			}
			n++
		}
	}
	return n, nil
}

// Sweep deletes idle sessions and links past their remembering; the app runs it hourly.
func (c *Console) Sweep(ctx context.Context) error {
	now := c.now()
	sessions, err := c.o.Store.ListDocs(ctx, CollSessions, "")
	if err != nil {
		return err
	}
	for _, d := range sessions {
		var s Session
		if json.Unmarshal(d.Value, &s) != nil || now.Sub(s.Seen) >= IdleTTL {
			if err := c.o.Store.DeleteDoc(ctx, CollSessions, d.ID); err != nil {
				return err
			}
		}
	}
	links, err := c.o.Store.ListDocs(ctx, CollLinks, "")
	if err != nil {
		return err
	}
	for _, d := range links {
		var l linkDoc
		if json.Unmarshal(d.Value, &l) != nil || now.Sub(l.Expires) >= keepUsed {
			if err := c.o.Store.DeleteDoc(ctx, CollLinks, d.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// RunSweeper sweeps every interval until ctx ends.
func (c *Console) RunSweeper(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := c.Sweep(ctx); err != nil {
				c.log.Warn("console sweep failed", "err", err)
			}
		}
	}
}

// secureCookie: cookies are Secure unless the console is opened on localhost (the
// playground on a laptop, over plain http).
func secureCookie(r *http.Request) bool {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return false
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return false
	}
	return true
}

// checkCSRF compares a POST's token (form field csrf, or the X-CSRF-Token header htmx sends)
// with want, in constant time.
func checkCSRF(r *http.Request, want string) bool {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf")
	}
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
