package community

import (
	"strings"
	"time"
)

// Personal information (个人信息保护法): a resident may have what is held about them erased,
// and closed items keep personal fields only for a retention period. Both anonymise an item
// the same way: phones, ID and card numbers and door numbers in its texts are masked, its
// Phone is cleared and the requester's name is replaced. What happened to the item (its
// history's actions and times, its state, stars and claimers) stays: the ledger (台账) and
// the members' points are built from it. The requester's id stays too: it is a platform id,
// shown to nobody, that lets 我的 still list the resident's own needs and lets an open need
// still be confirmed and rated by them.

// EffectiveRole is the role p acts in: an unapproved registration (报到) acts as a resident
// whatever Role says. Everything that selects people by role (recipients of item cards,
// rosters, help) asks this, not p.Role.
func EffectiveRole(p Person) Role { return ActorOf(p).Role }

// Names that replace a requester's.
const (
	ErasedName = "已注销居民" // the resident had their information erased (删除我的信息)
	PurgedName = "居民"    // the item's retention period ended
)

// Registration is a request to act as a party member (报到), kept apart from the person's
// record until a secretary whose jurisdiction covers Node approves it: the name and the
// place typed are only what the person said (自称), never their identity.
type Registration struct {
	No       int64  `json:"no"`
	PersonID string `json:"person_id"`
	Name     string `json:"name"` // the name the directory or the platform knows
	// Unnamed: neither the directory nor the platform knew a name (Name is a placeholder).
	// Then an approval gives the person the name the secretary approved, Claimed.
	Unnamed bool      `json:"unnamed,omitempty"`
	Claimed string    `json:"claimed"`         // the name typed after 报到 (自称)
	Place   string    `json:"place,omitempty"` // the building or unit typed
	Unit    string    `json:"unit,omitempty"`  // the 共建单位 typed after 单位 (报到 张三 3栋 单位 区税务局)
	Role    Role      `json:"role"`            // the role asked for: member
	GroupID string    `json:"group_id,omitempty"`
	Node    string    `json:"node,omitempty"`
	At      time.Time `json:"at"`
	// Set once decided.
	Decision string    `json:"decision,omitempty"` // approved, refused
	By       string    `json:"by,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Decided  time.Time `json:"decided,omitzero"`
}

// Registration decisions.
const (
	RegApproved = "approved"
	RegRefused  = "refused"
)

// eraseText masks every kind of personal data in s, and the literal values in known (a
// person's phone and door as the directory holds them, which may be written without 室).
func eraseText(s string, known []string) string {
	if s == "" {
		return s
	}
	for _, k := range known {
		if k = strings.TrimSpace(k); len([]rune(k)) >= 3 && strings.Contains(s, k) {
			s = strings.ReplaceAll(s, k, maskKnown(k))
		}
	}
	return Mask(s)
}

// maskKnown masks a known phone or door wherever Mask itself would not.
func maskKnown(k string) string {
	if len(Phones(k)) > 0 {
		return MaskPhone(k)
	}
	if m := MaskDoor(k); m != k {
		return m
	}
	r := []rune(k)
	return string(r[:len(r)/2]) + strings.Repeat("*", len(r)-len(r)/2)
}

// anonymise masks the item's texts and replaces requester's name with name; it reports
// whether anything changed.
func (it *Item) anonymise(name string, known []string) bool {
	changed := false
	set := func(p *string, v string) {
		if *p != v {
			*p, changed = v, true
		}
	}
	set(&it.Title, eraseText(it.Title, known))
	set(&it.Comment, eraseText(it.Comment, known))
	set(&it.DoneNote, eraseText(it.DoneNote, known))
	set(&it.Reason, eraseText(it.Reason, known))
	set(&it.Phone, "")
	set(&it.RequesterName, name)
	for i := range it.History {
		e := &it.History[i]
		set(&e.Note, eraseText(e.Note, known))
		if e.Actor == it.RequesterID && e.Actor != "" {
			set(&e.Name, name)
		}
	}
	return changed
}

// Erase anonymises a need of p's at p's request (删除我的信息): texts masked (p's own phone
// and door too, however they were written), Phone cleared, p's name replaced by ErasedName,
// the erasure recorded in the history. An open item keeps working. It reports whether
// anything changed: erasing twice changes nothing more. Items p did not ask for are left alone.
func (it *Item) Erase(p Person, now time.Time) bool {
	if p.ID == "" || it.RequesterID != p.ID {
		return false
	}
	if !it.anonymise(ErasedName, []string{p.Phone, p.Door}) {
		return false
	}
	it.History = append(it.History, Event{At: now, Action: ActErase, Actor: p.ID, Name: ErasedName, Note: "应本人要求删除个人信息"})
	it.UpdatedAt = now
	return true
}

// PurgeDue reports whether the item's retention period has ended at now: it was closed or
// cancelled at least retention ago and not purged yet.
func (it *Item) PurgeDue(retention time.Duration, now time.Time) bool {
	if !it.State.Terminal() || !it.Purged.IsZero() || retention <= 0 {
		return false
	}
	closed := it.ClosedAt
	if closed.IsZero() {
		closed = it.UpdatedAt
	}
	return !closed.Add(retention).After(now)
}

// Purge anonymises a closed or cancelled item whose retention period ended (see PurgeDue):
// like Erase, with the requester's name replaced by PurgedName (unless it was erased
// already), and marks it Purged so it is never processed again. It reports whether it did.
func (it *Item) Purge(retention time.Duration, now time.Time) bool {
	if !it.PurgeDue(retention, now) {
		return false
	}
	name := PurgedName
	if it.RequesterName == ErasedName {
		name = ErasedName
	}
	it.anonymise(name, nil)
	it.Purged = now
	it.History = append(it.History, Event{At: now, Action: ActPurge, Actor: SystemActor.ID, Name: SystemActor.Name, Note: "保存期满，已清除个人信息"})
	it.UpdatedAt = now
	return true
}
