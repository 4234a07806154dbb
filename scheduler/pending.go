package scheduler

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// CollPending holds the question the bot asked a person about which activity they meant
// (sender id → pendingDoc), so that whichever replica gets their "1" or "2" knows the answer.
const CollPending = "schedpending"

const (
	// ambiguousWithin: two activities of one title starting closer together than this are
	// about as near, and the bot asks which one is meant.
	ambiguousWithin = 24 * time.Hour
	// pendingTTL is how long a question waits for its numbered answer.
	pendingTTL = 10 * time.Minute
	// attendanceLookback bounds how far back 出席 looks for the latest occurrence.
	attendanceLookback = 366 * 24 * time.Hour
)

// pendingCmd is what a command still has to do once its activity is known.
type pendingCmd struct {
	Status string `json:"status,omitempty"` // 报名 or 请假 (StatusSignup, StatusLeave)
	Text   string `json:"text,omitempty"`   // the leave's reason, the 议题
}

// pendingDoc is a question waiting for a numbered answer.
type pendingDoc struct {
	Purpose purpose    `json:"purpose"`
	Cmd     pendingCmd `json:"cmd"`
	Options []string   `json:"options"` // occurrence ids, in the order offered
	Expires time.Time  `json:"expires"`
}

// nearest orders found by how near each occurrence is to now (ties: earlier first, then by
// schedule id).
func nearest(found []target, now time.Time) {
	slices.SortStableFunc(found, func(a, b target) int {
		return cmp.Or(cmp.Compare(a.start.Sub(now).Abs(), b.start.Sub(now).Abs()), a.start.Compare(b.start), strings.Compare(a.sc.ID, b.sc.ID))
	})
}

// ask puts a numbered question to the sender ("您是指哪一个？回复 1) … 2) …") and keeps it in
// the store for pendingTTL.
func (s *Scheduler) ask(ctx context.Context, r *bot.Request, p purpose, cmd pendingCmd, found []target) error {
	found = found[:min(len(found), 9)]
	slices.SortStableFunc(found, func(a, b target) int { return a.start.Compare(b.start) })
	doc := pendingDoc{Purpose: p, Cmd: cmd, Expires: r.Now.Add(pendingTTL)}
	sameDay := map[string]int{}
	for _, t := range found {
		sameDay[t.start.Format(time.DateOnly)]++
	}
	var b strings.Builder
	b.WriteString("您是指哪一个？回复")
	for i, t := range found {
		doc.Options = append(doc.Options, t.id)
		label := t.sc.Title
		if len(t.sc.Nodes) > 0 {
			label += "(" + s.scopeName(t.sc.Nodes) + ")"
		}
		when := fmt.Sprintf("%d月%d日", t.start.Month(), t.start.Day())
		if t.start.Year() != r.Now.Year() {
			when = fmt.Sprintf("%d年", t.start.Year()) + when
		}
		if sameDay[t.start.Format(time.DateOnly)] > 1 {
			when += " " + t.start.Format("15:04")
		}
		fmt.Fprintf(&b, " %d) %s %s", i+1, label, when)
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	if err := s.st.PutDoc(ctx, CollPending, r.Msg.UserID, raw); err != nil {
		return store.ErrUnavailable(err)
	}
	r.Reply(b.String())
	return nil
}

// choiceNumber reads a bare "1", "２" or "1）" as an answer to a numbered question.
func choiceNumber(text string) (int, bool) {
	t := strings.TrimSpace(text)
	t = strings.TrimRight(t, ")）.。")
	rs := []rune(t)
	if len(rs) != 1 {
		return 0, false
	}
	switch c := rs[0]; {
	case c >= '1' && c <= '9':
		return int(c - '0'), true
	case c >= '１' && c <= '９':
		return int(c-'１') + 1, true
	}
	return 0, false
}

// resume takes the sender's numbered answer to the question ask put, if one is waiting; a
// number without a question is not ours (the core reads "1" as a claim).
func (s *Scheduler) resume(ctx context.Context, r *bot.Request, n int) (bool, error) {
	if r.Msg.ReplyTo != "" {
		// A number said in reply to a card (an item's: "1" claims) answers that card.
		if _, err := s.st.GetDoc(ctx, bot.CollMsgRef, bot.MsgRefID(r.Msg.Platform, r.Msg.ReplyTo)); err == nil {
			return false, nil
		}
	}
	raw, err := s.st.GetDoc(ctx, CollPending, r.Msg.UserID)
	if err != nil {
		if community.ErrorCode(err) == community.ENotFound {
			return false, nil
		}
		return true, store.ErrUnavailable(err)
	}
	var doc pendingDoc
	if err := json.Unmarshal(raw, &doc); err != nil || !r.Now.Before(doc.Expires) {
		_ = s.st.DeleteDoc(ctx, CollPending, r.Msg.UserID)
		return false, nil
	}
	if n > len(doc.Options) {
		r.Replyf("请回复 1 到 %d 中的一个数字。", len(doc.Options))
		return true, nil
	}
	if err := s.st.DeleteDoc(ctx, CollPending, r.Msg.UserID); err != nil {
		return true, store.ErrUnavailable(err)
	}
	occID := doc.Options[n-1]
	switch doc.Purpose {
	case forAnswer:
		return true, s.answer(ctx, r, occID, "", doc.Cmd.Status, doc.Cmd.Text)
	case forSignin:
		return true, s.signIn(ctx, r, occID, "")
	case forAttendance:
		return true, s.attendance(ctx, r, occID, "")
	case forAgenda:
		return true, s.agendaFor(ctx, r, occID, doc.Cmd.Text)
	}
	return false, nil
}
