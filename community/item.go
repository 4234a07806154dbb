package community

import (
	"fmt"
	"strings"
	"time"
)

// State is where an item stands in the 四单 loop.
type State string

const (
	StateNeed      State = "need"      // 待派单: a resident's need, not yet dispatched
	StateOpen      State = "open"      // 待认领: dispatched or posted, slots left
	StateClaimed   State = "claimed"   // 办理中: every slot taken
	StateDone      State = "done"      // 待确认: reported done, awaiting the recipient
	StateFollowUp  State = "followup"  // 回访中: rated ≤3★ or 不满意; the secretary follows up
	StateClosed    State = "closed"    // 已办结
	StateCancelled State = "cancelled" // 已取消
)

var stateNames = map[State]string{
	StateNeed: "待派单", StateOpen: "待认领", StateClaimed: "办理中", StateDone: "待确认",
	StateFollowUp: "回访中", StateClosed: "已办结", StateCancelled: "已取消",
}

// Chinese is the state's name as shown to people.
func (s State) Chinese() string {
	if n, ok := stateNames[s]; ok {
		return n
	}
	return string(s)
}

// Terminal reports whether nothing more happens to an item in s.
func (s State) Terminal() bool { return s == StateClosed || s == StateCancelled }

// Origin says how an item came to be.
type Origin string

const (
	OriginResident Origin = "resident" // 居民点单 (or 网格员代点单)
	OriginDirect   Origin = "direct"   // posted directly by a secretary (发布)
)

// Claim is one member holding one slot of an item.
type Claim struct {
	UserID string    `json:"user_id"`
	Name   string    `json:"name"`
	At     time.Time `json:"at"`
}

// Event is one line of an item's history: every transition and every scheduler step.
type Event struct {
	At     time.Time `json:"at"`
	Action Action    `json:"action"`
	Actor  string    `json:"actor"`
	Name   string    `json:"name"`
	Note   string    `json:"note,omitempty"`
	// Stars is a confirm's rating and Deadline the deadline a dispatch or reschedule set, so
	// figures recomputed from the history (the ledger's points) see them as they were.
	// Events recorded before these fields existed have them zero.
	Stars    int       `json:"stars,omitempty"`
	Deadline time.Time `json:"deadline,omitzero"`
}

// Item is a need (点单) and, once dispatched, the service item (下单) it became. One number
// follows it through its whole life: need #12 becomes item #12.
type Item struct {
	No int64 `json:"no"`
	// Source is the key of the inbound event that created the item; a store creates one
	// item per source, so handling that event again after a crash files nothing twice.
	Source  string `json:"source,omitempty"`
	GroupID string `json:"group_id"` // where it was filed and where its card lives
	Node    string `json:"node,omitempty"`
	Origin  Origin `json:"origin"`
	Title   string `json:"title"` // the need as written (unmasked; mask when showing a group)

	RequesterID   string `json:"requester_id"` // the recipient who confirms and rates
	RequesterName string `json:"requester_name"`
	CreatedByID   string `json:"created_by_id"` // differs from RequesterID for 代点单
	Phone         string `json:"phone,omitempty"`

	State    State     `json:"state"`
	Slots    int       `json:"slots"`
	Claims   []Claim   `json:"claims,omitempty"`
	Deadline time.Time `json:"deadline,omitempty"`

	Supervised int    `json:"supervised,omitempty"` // times 督办 was called
	Overdue    bool   `json:"overdue,omitempty"`    // 挂牌: flagged in public
	Escalation int    `json:"escalation,omitempty"` // 0 none, 1 community, 2 street
	Stars      int    `json:"stars,omitempty"`
	Comment    string `json:"comment,omitempty"`
	DoneNote   string `json:"done_note,omitempty"`
	DoneBy     string `json:"done_by,omitempty"`
	Reason     string `json:"reason,omitempty"` // cancel reason or dissatisfaction
	// Reminded records scheduler steps already taken ("remind24h", "announce1") so each
	// fires once.
	Reminded []string `json:"reminded,omitempty"`

	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	DoneAt    time.Time `json:"done_at,omitempty"`
	ClosedAt  time.Time `json:"closed_at,omitempty"`
	// Purged is when the retention period ended and the personal fields were cleared.
	Purged  time.Time `json:"purged,omitzero"`
	History []Event   `json:"history,omitempty"`
	// Version increases with every saved change; stores use it for compare-and-set.
	Version int64 `json:"version"`
}

// NewNeed files a resident's need (点单). by is who typed it (a grid worker for 代点单),
// requester is who it is for.
func NewNeed(no int64, group Group, requester, by Actor, text string, now time.Time) (*Item, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, Errorf(EInvalid, "请说说需要什么帮助，例如：@邻里帮 3栋2单元楼道灯坏了")
	}
	if n := len([]rune(text)); n > 500 {
		return nil, Errorf(EInvalid, "内容太长了（%d字），请控制在500字以内。", n)
	}
	if requester.ID != by.ID && !by.Role.AtLeast(RoleGridWorker) {
		return nil, Errorf(EForbidden, "只有网格员和书记可以代居民点单。")
	}
	it := &Item{
		No: no, GroupID: group.ID, Node: group.Node, Origin: OriginResident, Title: text,
		RequesterID: requester.ID, RequesterName: requester.Name, CreatedByID: by.ID,
		State: StateNeed, Slots: 1, CreatedAt: now, UpdatedAt: now,
	}
	if ph := Phones(text); len(ph) > 0 {
		it.Phone = ph[0]
	}
	it.record(now, ActFile, by, "")
	return it, nil
}

// NewPost posts a service item directly (发布), ready to be claimed.
func NewPost(no int64, group Group, by Actor, title string, slots int, deadline time.Time, now time.Time) (*Item, error) {
	if !by.Role.AtLeast(RoleSecretary) {
		return nil, Errorf(EForbidden, "只有书记可以发布服务事项。")
	}
	title = strings.TrimSpace(title)
	if title == "" {
		return nil, Errorf(EInvalid, "请写上事项内容，例如：发布 周六上午清理楼道 需要5人 截止 周六12点")
	}
	if n := len([]rune(title)); n > 500 {
		return nil, Errorf(EInvalid, "内容太长了（%d字），请控制在500字以内。", n)
	}
	if err := checkSlots(slots); err != nil {
		return nil, err
	}
	if slots == 0 {
		slots = 1
	}
	if !deadline.IsZero() && !deadline.After(now) {
		return nil, Errorf(EInvalid, "截止时间 %s 已经过去了，请换一个时间。", FormatTime(deadline, now))
	}
	it := &Item{
		No: no, GroupID: group.ID, Node: group.Node, Origin: OriginDirect, Title: title,
		RequesterID: by.ID, RequesterName: by.Name, CreatedByID: by.ID,
		State: StateOpen, Slots: slots, Deadline: deadline, CreatedAt: now, UpdatedAt: now,
	}
	it.record(now, ActPost, by, "")
	return it, nil
}

// MaxSlots bounds an item's slots: a bigger crowd is an activity, not an item.
const MaxSlots = 50

func checkSlots(n int) error {
	if n < 0 || n > MaxSlots {
		return Errorf(EInvalid, "人数需要在1到%d之间。", MaxSlots)
	}
	return nil
}

// ClaimedBy reports whether userID holds a slot.
func (it *Item) ClaimedBy(userID string) bool {
	for _, c := range it.Claims {
		if c.UserID == userID {
			return true
		}
	}
	return false
}

// ClaimerNames lists who holds the item, joined by "、".
func (it *Item) ClaimerNames() string {
	names := make([]string, len(it.Claims))
	for i, c := range it.Claims {
		names[i] = c.Name
	}
	return strings.Join(names, "、")
}

// SlotsLeft is how many more members may claim.
func (it *Item) SlotsLeft() int { return it.Slots - len(it.Claims) }

// IsOverdue reports whether the deadline has passed with the item still in hand.
func (it *Item) IsOverdue(now time.Time) bool {
	if it.Deadline.IsZero() {
		return false
	}
	switch it.State {
	case StateOpen, StateClaimed, StateNeed, StateFollowUp:
		return now.After(it.Deadline)
	}
	return false
}

// HasStep reports whether a scheduler step was already recorded.
func (it *Item) HasStep(step string) bool {
	for _, s := range it.Reminded {
		if s == step {
			return true
		}
	}
	return false
}

func (it *Item) record(now time.Time, a Action, by Actor, note string) {
	it.History = append(it.History, Event{At: now, Action: a, Actor: by.ID, Name: by.Name, Note: note})
	it.UpdatedAt = now
}

var weekdays = [...]string{"周日", "周一", "周二", "周三", "周四", "周五", "周六"}

// FormatDate shows t as an absolute date and time, for cards and records that are read
// later: "11月24日(周二) 18:00", with the year when it is not now's.
func FormatDate(t, now time.Time) string {
	t = t.In(now.Location())
	s := fmt.Sprintf("%d月%d日(%s) %s", t.Month(), t.Day(), weekdays[t.Weekday()], t.Format("15:04"))
	if t.Year() != now.Year() {
		s = fmt.Sprintf("%d年", t.Year()) + s
	}
	return s
}

// FormatTime shows t the way people say it, relative to now: "今天18:00", "明天09:30",
// "11月30日 18:00", "2027年1月5日 18:00".
func FormatTime(t, now time.Time) string {
	t = t.In(now.Location())
	y, m, d := now.Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, now.Location())
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, now.Location())
	hm := t.Format("15:04")
	switch int(day.Sub(today).Hours() / 24) {
	case 0:
		return "今天" + hm
	case 1:
		return "明天" + hm
	case -1:
		return "昨天" + hm
	}
	if t.Year() != now.Year() {
		return fmt.Sprintf("%d年%d月%d日 %s", t.Year(), t.Month(), t.Day(), hm)
	}
	return fmt.Sprintf("%d月%d日 %s", t.Month(), t.Day(), hm)
}
