// Package local is the built-in playground: a web chat page and a JSON API on which the whole
// service loop can be played in a browser, with a persona switcher instead of real accounts.
// It is the default platform when no chat platform is configured.
//
// The transcript (group chats and private chats with the bot) is held in memory and written
// through to store.Docs, so it survives a restart. Message ids are increasing integers across
// all chats; every change (a new message or a card updated in place) gets a revision number
// too, which live viewers use as their cursor.
package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// PlatformName is the platform part of every id the playground hands out ("local:wang").
const PlatformName = "local"

// Collection is the store.Docs collection holding the transcript, one doc per message under
// its zero-padded id, so ListDocs returns the messages in order.
const Collection = "local_transcript"

// Options configure the playground.
type Options struct {
	BotName  string             // "邻里帮"
	Groups   []community.Group  // the local groups (platform "local", Chat = id after "local:")
	Personas []community.Person // who the user can play, ids "local:wang"
	Docs     store.Docs         // transcript persistence; nil keeps it in memory only
	Now      func() time.Time
	Log      *slog.Logger
}

// Platform is the playground: a bot.Platform, bot.Router and bot.CardUpdater.
type Platform struct {
	botName  string
	groups   []community.Group
	byGroup  map[string]community.Group // by id "local:xingfuli" and by chat "xingfuli"
	personas []community.Person
	byPerson map[string]community.Person
	docs     store.Docs
	now      func() time.Time
	log      *slog.Logger
	page     *template.Template

	mu      sync.Mutex
	msgs    map[int64]*record  // latest version of each message; a version is never modified
	chats   map[string][]int64 // group id → its messages, ascending
	inboxes map[string][]int64 // person id → their private chat, ascending
	byOut   map[string]int64   // outbound id → message id, so Send is idempotent
	images  map[int64][]byte   // message id → its picture, when there is no store to keep it
	byEvent map[string][]int64 // "local:"+event id → bot messages the event produced
	// replies tracks, per event key, the replies its handling produced (ReplyHook) and those
	// that reached the transcript, so a ?wait= request knows when it has them all.
	replies  map[string]*eventReplies
	tracking bool // ReplyHook was taken: the engine reports every event's replies
	// userByEvent maps an event id to the user message that carried it (replays find it).
	userByEvent map[string]int64
	changes     []change      // every append and update, ascending rev
	next        int64         // last message id handed out
	rev         int64         // last revision handed out
	changed     chan struct{} // closed (and replaced) on every change: a broadcast
	servers     map[*http.Server]chan struct{}

	stop     chan struct{} // closed when Run ends: live streams close
	stopOnce sync.Once
}

// record is one transcript message as stored and as served (GET /local/messages, the stream).
type record struct {
	ID       int64         `json:"id,string"`
	Rev      int64         `json:"rev"`
	Group    string        `json:"group,omitempty"` // "local:xingfuli" for a group message
	To       string        `json:"to,omitempty"`    // whose private chat holds it
	From     string        `json:"from"`            // "user" or "bot"
	User     string        `json:"user,omitempty"`  // the sender of a user message
	Name     string        `json:"name"`
	Text     string        `json:"text"`
	Card     *bot.Card     `json:"card,omitempty"`
	Image    string        `json:"image,omitempty"` // a bot message's picture: its URL here
	ReplyTo  string        `json:"reply_to,omitempty"`
	Mentions []bot.Mention `json:"mentions,omitempty"`
	At       time.Time     `json:"at"`
	Edited   time.Time     `json:"edited,omitzero"`
	EventID  string        `json:"event_id,omitempty"` // a user message: the event given to the bot
	OutID    string        `json:"out_id,omitempty"`   // a bot message: its outbound id
}

type change struct{ rev, id int64 }

// New builds the playground and loads the transcript kept in opts.Docs.
func New(opts Options) *Platform {
	p := &Platform{
		botName:  opts.BotName,
		byGroup:  map[string]community.Group{},
		byPerson: map[string]community.Person{},
		docs:     opts.Docs,
		now:      opts.Now,
		log:      opts.Log,
		page:     template.Must(template.ParseFS(assets, "page.html")),
		msgs:     map[int64]*record{},
		chats:    map[string][]int64{},
		inboxes:  map[string][]int64{},
		byOut:    map[string]int64{},
		images:   map[int64][]byte{},
		byEvent:  map[string][]int64{},
		replies:  map[string]*eventReplies{},
		changed:  make(chan struct{}),
		servers:  map[*http.Server]chan struct{}{},
		stop:     make(chan struct{}),
	}
	if p.botName == "" {
		p.botName = "邻里帮"
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	for _, g := range opts.Groups {
		plat, chat := community.SplitID(g.ID)
		if g.Chat == "" {
			g.Chat = chat
		}
		if g.Platform == "" {
			g.Platform = plat
		}
		if g.ID == "" {
			g.ID = community.JoinID(PlatformName, g.Chat)
		}
		if g.Name == "" {
			g.Name = g.Chat
		}
		p.groups = append(p.groups, g)
		p.byGroup[g.ID] = g
		p.byGroup[g.Chat] = g
	}
	for _, person := range opts.Personas {
		person.ID = qualify(person.ID)
		p.personas = append(p.personas, person)
		p.byPerson[person.ID] = person
	}
	p.load(context.Background())
	return p
}

// Name is the platform's name in outbound messages and the dispatcher's map.
func (p *Platform) Name() string { return PlatformName }

// Run waits for ctx to end, then closes the live streams. Messages arrive over HTTP (Routes).
func (p *Platform) Run(ctx context.Context, _ bot.Receiver) error {
	<-ctx.Done()
	p.stopOnce.Do(func() { close(p.stop) })
	return nil
}

// Send appends o to its group's transcript (o.ChatID), masked (bot.ForGroup), or to a
// person's private chat (o.UserID) as it is. The same o.ID is appended once: a retry gets
// the first message's id.
func (p *Platform) Send(ctx context.Context, o bot.Outbound) (bot.Sent, error) {
	if !bot.Private(o) {
		o = bot.ForGroup(o) // the last gate before the group's page: no ID, phone or door
	}
	if o.Text == "" && o.Card == nil {
		return bot.Sent{}, bot.Permanent("empty", errors.New("local: nothing to send"))
	}
	var group, to string
	switch {
	case o.ChatID != "":
		group = p.groupID(o.ChatID)
	case o.UserID != "":
		to = qualify(o.UserID)
	default:
		return bot.Sent{}, bot.Permanent("no_target", errors.New("local: outbound without chat or user"))
	}
	p.mu.Lock()
	if id, ok := p.byOut[o.ID]; ok && o.ID != "" {
		rec := p.msgs[id]
		p.mu.Unlock()
		// A retry: the first attempt may have failed to persist.
		return sent(id), p.persist(ctx, rec)
	}
	if o.Update && o.Card != nil && o.Card.Key != "" {
		// Only without card references does the dispatcher send an update through Send.
		if id := p.findCardLocked(group, to, o.Card.Key); id != 0 {
			rec := p.updateLocked(id, o)
			p.mu.Unlock()
			return sent(id), p.persist(ctx, rec)
		}
	}
	rec := &record{
		From: "bot", Group: group, To: to, Name: p.botName, Text: o.Text, Card: cloneCard(o.Card),
		ReplyTo: o.ReplyTo, Mentions: slices.Clone(o.Mentions), At: p.now(), OutID: o.ID,
	}
	p.appendLocked(rec)
	if o.Image != nil && len(o.Image.PNG) > 0 {
		rec.Image = imageURL(rec.ID)
		if p.docs == nil {
			p.images[rec.ID] = o.Image.PNG
		}
	}
	p.mu.Unlock()
	if rec.Image != "" {
		if err := p.persistImage(ctx, rec.ID, o.Image.PNG); err != nil {
			return bot.Sent{}, err
		}
	}
	return sent(rec.ID), p.persist(ctx, rec)
}

// UpdateCard replaces, in place, the card of transcript message messageID with o.Card; live
// viewers see the new card where the old one was.
//
// Transcripts are per process, so with replicas on one Redis the card may have been shown by
// another replica: messageID is then unknown here, or names an unrelated message of this
// transcript (ids count from 1 in each). The update then goes through Send with Update: to this
// transcript's latest card of the same subject (Card.Key) in o's chat, or, if it has none, the
// card is shown anew there.
func (p *Platform) UpdateCard(ctx context.Context, messageID string, o bot.Outbound) error {
	id, err := strconv.ParseInt(messageID, 10, 64)
	if err != nil {
		return bot.Permanent("bad_message_id", fmt.Errorf("local: message id %q: %w", messageID, err))
	}
	if o.Card == nil {
		return bot.Permanent("no_card", errors.New("local: card update without a card"))
	}
	if !bot.Private(o) {
		o = bot.ForGroup(o)
	}
	p.mu.Lock()
	if old, ok := p.msgs[id]; !ok || old.Card == nil || old.Card.Key != o.Card.Key {
		p.mu.Unlock()
		o.Update = true // Send updates the chat's card of o.Card.Key, or shows it anew
		_, err := p.Send(ctx, o)
		return err
	}
	rec := p.updateLocked(id, o)
	p.mu.Unlock()
	return p.persist(ctx, rec)
}

func sent(id int64) bot.Sent { return bot.Sent{MessageID: strconv.FormatInt(id, 10)} }

// appendLocked gives rec the next id and revision and publishes it.
func (p *Platform) appendLocked(rec *record) {
	p.next++
	rec.ID = p.next
	p.rev++
	rec.Rev = p.rev
	p.indexLocked(rec)
	p.changes = append(p.changes, change{rev: rec.Rev, id: rec.ID})
	p.notifyLocked()
}

func (p *Platform) indexLocked(rec *record) {
	p.msgs[rec.ID] = rec
	switch {
	case rec.Group != "":
		p.chats[rec.Group] = append(p.chats[rec.Group], rec.ID)
	case rec.To != "":
		p.inboxes[rec.To] = append(p.inboxes[rec.To], rec.ID)
	}
	if rec.From == "user" && rec.EventID != "" {
		if p.userByEvent == nil {
			p.userByEvent = map[string]int64{}
		}
		p.userByEvent[rec.EventID] = rec.ID
	}
	if rec.OutID != "" {
		p.byOut[rec.OutID] = rec.ID
		p.linkEventLocked(rec.OutID, rec.ID)
	}
}

// linkEventLocked remembers that outbound outID (an engine reply "local:<event>/<n>") touched
// message id, so a request waiting for that event's replies finds it.
func (p *Platform) linkEventLocked(outID string, id int64) {
	i := strings.LastIndexByte(outID, '/')
	if i <= 0 {
		return
	}
	key := outID[:i]
	if !slices.Contains(p.byEvent[key], id) {
		p.byEvent[key] = append(p.byEvent[key], id)
	}
	r := p.eventLocked(key)
	if !slices.Contains(r.arrived, outID) {
		r.arrived = append(r.arrived, outID)
	}
}

// eventReplies is what the playground knows of one event's replies.
type eventReplies struct {
	known   bool     // the engine reported the event's replies (want)
	want    []string // outbound ids of its replies to the playground
	arrived []string // outbound ids that reached the transcript
}

// complete reports whether every reply the engine reported has reached the transcript.
func (r *eventReplies) complete() bool {
	if r == nil || !r.known {
		return false
	}
	for _, id := range r.want {
		if !slices.Contains(r.arrived, id) {
			return false
		}
	}
	return true
}

func (p *Platform) eventLocked(key string) *eventReplies {
	r := p.replies[key]
	if r == nil {
		r = &eventReplies{}
		p.replies[key] = r
	}
	return r
}

// ReplyHook returns the function to set as bot.Engine.Replied. With it, a ?wait= request
// returns once every reply its event produced is in the transcript, however long the chat's
// rate limit held one back in the outbox; without it the playground can only guess, and stops
// collecting a moment (settle) after the last reply came.
func (p *Platform) ReplyHook() func(bot.Message, []store.OutboxEntry) {
	p.mu.Lock()
	p.tracking = true
	p.mu.Unlock()
	return p.replied
}

// replied records the replies to the playground that handling m produced (possibly none).
func (p *Platform) replied(m bot.Message, entries []store.OutboxEntry) {
	if m.Platform != PlatformName {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.eventLocked(m.Key())
	r.known = true
	for _, e := range entries {
		if e.Platform == PlatformName && !slices.Contains(r.want, e.ID) {
			r.want = append(r.want, e.ID)
		}
	}
	p.notifyLocked()
}

// updateLocked publishes a new version of message id carrying o's card.
func (p *Platform) updateLocked(id int64, o bot.Outbound) *record {
	n := *p.msgs[id]
	n.Card = cloneCard(o.Card)
	if o.Text != "" {
		n.Text = o.Text
	}
	n.Edited = p.now()
	p.rev++
	n.Rev = p.rev
	p.msgs[id] = &n
	p.changes = append(p.changes, change{rev: n.Rev, id: id})
	if o.ID != "" {
		p.linkEventLocked(o.ID, id)
	}
	p.notifyLocked()
	return &n
}

func (p *Platform) notifyLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// findCardLocked returns the newest message in the chat showing the card with key, or 0.
func (p *Platform) findCardLocked(group, to, key string) int64 {
	ids := p.chats[group]
	if group == "" {
		ids = p.inboxes[to]
	}
	for i := len(ids) - 1; i >= 0; i-- {
		if c := p.msgs[ids[i]].Card; c != nil && c.Key == key {
			return ids[i]
		}
	}
	return 0
}

// changesSinceLocked returns the latest version of every message of the group or the
// person's private chat that changed after revision since, in revision order.
func (p *Platform) changesSinceLocked(since int64, group, user string) []*record {
	i, _ := slices.BinarySearchFunc(p.changes, since+1, func(c change, rev int64) int {
		return cmpInt(c.rev, rev)
	})
	seen := map[int64]bool{}
	var out []*record
	for _, c := range p.changes[i:] {
		rec := p.msgs[c.id]
		if seen[c.id] || !visible(rec, group, user) {
			continue
		}
		seen[c.id] = true
		out = append(out, rec)
	}
	slices.SortFunc(out, func(a, b *record) int { return cmpInt(a.Rev, b.Rev) })
	return out
}

func visible(rec *record, group, user string) bool {
	if rec.Group != "" {
		return group != "" && rec.Group == group
	}
	return user != "" && rec.To == user
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// persist writes rec through to the store. A slower writer never overwrites a newer version
// of the same message: the revision decides.
func (p *Platform) persist(ctx context.Context, rec *record) error {
	if p.docs == nil {
		return nil
	}
	val, err := json.Marshal(rec)
	if err != nil {
		return bot.Permanent("encode", fmt.Errorf("local: encode message %d: %w", rec.ID, err))
	}
	// The message is already shown; saving it must not depend on the caller staying.
	ctx = context.WithoutCancel(ctx)
	_, err = p.docs.UpdateDoc(ctx, Collection, docID(rec.ID), func(old []byte) ([]byte, error) {
		var cur struct {
			Rev int64 `json:"rev"`
		}
		if old != nil && json.Unmarshal(old, &cur) == nil && cur.Rev > rec.Rev {
			return old, nil
		}
		return val, nil
	})
	if err != nil {
		p.log.Warn("transcript not saved", "message", rec.ID, "err", err)
		return bot.Temporary("store", 0, fmt.Errorf("local: save message %d: %w", rec.ID, err))
	}
	return nil
}

func docID(id int64) string { return fmt.Sprintf("%019d", id) }

// load reads the transcript saved by earlier runs.
func (p *Platform) load(ctx context.Context) {
	if p.docs == nil {
		return
	}
	docs, err := p.docs.ListDocs(ctx, Collection, "")
	if err != nil {
		// Start the ids past anything an earlier run can have used, so nothing saved is
		// overwritten; the old history shows again after the next successful start.
		p.next = p.now().UnixMilli()
		p.log.Error("playground transcript not loaded; starting empty", "err", err)
		return
	}
	recs := make([]*record, 0, len(docs))
	for _, d := range docs {
		rec := new(record)
		if err := json.Unmarshal(d.Value, rec); err != nil || rec.ID <= 0 {
			p.log.Warn("skipping unreadable transcript message", "doc", d.ID, "err", err)
			continue
		}
		recs = append(recs, rec)
	}
	slices.SortFunc(recs, func(a, b *record) int { return cmpInt(a.ID, b.ID) })
	for _, rec := range recs {
		p.indexLocked(rec)
		p.next = max(p.next, rec.ID)
		p.rev = max(p.rev, rec.Rev)
	}
	byRev := slices.Clone(recs)
	slices.SortFunc(byRev, func(a, b *record) int { return cmpInt(a.Rev, b.Rev) })
	for _, rec := range byRev {
		p.changes = append(p.changes, change{rev: rec.Rev, id: rec.ID})
	}
	p.log.Debug("playground transcript loaded", "messages", len(recs))
}

// groupID maps a chat ("xingfuli") or group id ("local:xingfuli") to the group id.
func (p *Platform) groupID(chat string) string {
	if g, ok := p.byGroup[chat]; ok {
		return g.ID
	}
	if plat, _ := community.SplitID(chat); plat == PlatformName {
		return chat
	}
	return community.JoinID(PlatformName, chat)
}

// qualify makes a person id platform-qualified: "chen" → "local:chen".
func qualify(id string) string {
	if id == "" || strings.Contains(id, ":") {
		return id
	}
	return community.JoinID(PlatformName, id)
}

func cloneCard(c *bot.Card) *bot.Card {
	if c == nil {
		return nil
	}
	n := *c
	n.Fields = slices.Clone(c.Fields)
	n.Buttons = slices.Clone(c.Buttons)
	n.Mentions = slices.Clone(c.Mentions)
	return &n
}
