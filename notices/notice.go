// Package notices is 政策通知"一键发送" and the residents' vote of 四步议事法: a secretary sends
// a notice (or a poll) to every group under an org node after confirming its reach; the
// notice goes out through the outbox, one entry per group with a deterministic id, so a
// restart neither loses nor repeats a group; residents acknowledge it (收到) and vote; the
// secretary follows delivery (通知进度), receipts (回执, 催办回执) and results (投票结果), and
// exports everything as CSV.
//
// Everything is kept in store.Docs (collections named in keys.go) and the outbox; the
// package registers its verbs and card actions on the bot.Mux (Register) and runs as a runner
// that calls Tick every minute.
package notices

import (
	"strconv"
	"time"
)

// Kind tells a notice from a poll. Both take their numbers from the deployment's one number
// space (store.Numbers, shared with items and activities), so "导出 12" or "查看 12" is never
// ambiguous.
type Kind string

const (
	KindNotice Kind = "notice"
	KindPoll   Kind = "poll"
)

// Chinese is how the kind is called in messages.
func (k Kind) Chinese() string {
	if k == KindPoll {
		return "投票"
	}
	return "通知"
}

// Status is where a notice stands.
type Status string

const (
	StatusDraft     Status = "draft"     // waiting for 确认发送
	StatusSending   Status = "sending"   // confirmed; outbox entries being enqueued
	StatusSent      Status = "sent"      // every group's entry is in the outbox
	StatusCancelled Status = "cancelled" // 取消发送, or a draft never confirmed
)

// Notice is one notice or poll. Its target groups are frozen when it is drafted (doc
// collGroups), so the reach confirmed is the reach sent.
type Notice struct {
	// ID is the notice's own id: the key of its docs, outbox entries and card buttons, given
	// at draft time and never shown. No is the number people see (store.Numbers), taken when
	// the draft is confirmed: a draft never sent takes none.
	ID     int64  `json:"id"`
	No     int64  `json:"no,omitempty"`
	Kind   Kind   `json:"kind"`
	Status Status `json:"status"`

	Author     string `json:"author"` // platform-qualified person id
	AuthorName string `json:"author_name"`
	// Where the author drafted it, for the private copy of a poll's result.
	AuthorPlatform string `json:"author_platform,omitempty"`

	All         bool     `json:"all,omitempty"`
	Targets     []string `json:"targets,omitempty"` // org node ids
	TargetNames string   `json:"target_names"`      // as shown: 全体 / 1网格、2网格

	Text  string   `json:"text,omitempty"`
	Links []string `json:"links,omitempty"`

	Title    string    `json:"title,omitempty"`
	Options  []string  `json:"options,omitempty"`
	Deadline time.Time `json:"deadline,omitempty"`

	Groups int `json:"groups"` // target groups
	People int `json:"people"` // registered persons under the target nodes

	CreatedAt   time.Time `json:"created_at"`
	ConfirmedAt time.Time `json:"confirmed_at,omitempty"`
	// Enqueued counts the target groups (in collGroups order) whose outbox entry is in; the
	// enqueuer resumes from here after a crash.
	Enqueued int       `json:"enqueued"`
	SentAt   time.Time `json:"sent_at,omitempty"` // when the last entry was enqueued

	Token string `json:"token"` // the secret in export links

	AutoReminded bool `json:"auto_reminded,omitempty"`
	Reminders    int  `json:"reminders,omitempty"`

	Result      *Result   `json:"result,omitempty"` // a poll's result, frozen at the deadline
	PublishedAt time.Time `json:"published_at,omitempty"`
}

// Ref is the id card buttons carry (Action.Ref): the notice's own id, not its number.
func (n *Notice) Ref() string { return strconv.FormatInt(n.ID, 10) }

// Number is the number people see and type: No, or for a notice sent before numbers were
// shared and not yet renumbered, its id (which was its number then). 0 for a draft.
func (n *Notice) Number() int64 {
	switch {
	case n.No > 0:
		return n.No
	case n.Status == StatusDraft || n.Status == StatusCancelled:
		return 0
	}
	return n.ID
}

// Label is "通知 #12" / "投票 #13"; a draft, which has no number yet, is "通知（待确认）", one
// cancelled before it was sent "通知（未发送）".
func (n *Notice) Label() string {
	if no := n.Number(); no > 0 {
		return n.Kind.Chinese() + " #" + strconv.FormatInt(no, 10)
	}
	if n.Status == StatusCancelled {
		return n.Kind.Chinese() + "（未发送）"
	}
	return n.Kind.Chinese() + "（待确认）"
}

// Subject is a short line naming the notice: the poll's question or the notice's first words.
func (n *Notice) Subject() string {
	if n.Kind == KindPoll {
		return n.Title
	}
	return firstLine(n.Text, 30)
}

// Receipt is one person's 收到 in one group.
type Receipt struct {
	Notice int64     `json:"notice"`
	Group  string    `json:"group"`
	Person string    `json:"person"`
	Name   string    `json:"name"`
	At     time.Time `json:"at"`
	Via    string    `json:"via"` // tap, reply, text
}

// Vote is one person's vote in a poll; a later vote replaces an earlier one.
type Vote struct {
	Poll   int64     `json:"poll"`
	Group  string    `json:"group"` // where the person voted (last)
	Person string    `json:"person"`
	Name   string    `json:"name"`
	Option string    `json:"option"`
	At     time.Time `json:"at"`
}

// Result is a poll's count, in total and per group.
type Result struct {
	Total   map[string]int            `json:"total"`
	ByGroup map[string]map[string]int `json:"by_group"`
	Voters  int                       `json:"voters"`
	At      time.Time                 `json:"at"`
}

func firstLine(s string, n int) string {
	for i, r := range s {
		if r == '\n' {
			s = s[:i]
			break
		}
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
