package bot

import (
	"time"

	"github.com/neighborbot/neighborbot/community"
)

// PrivateRequest is a request as from p's private chat with the bot: what the web console's
// actions run the chat's own handlers with.
func PrivateRequest(p community.Person, now time.Time) *Request {
	plat, _ := community.SplitID(p.ID)
	return &Request{
		Msg:    Message{Platform: plat, UserID: p.ID, UserName: p.Name, Private: true, At: now},
		Sender: p, Now: now,
	}
}

// AsPrivate runs fn with a PrivateRequest from actor and splits what it sent into the answers
// meant for the actor (replies: a web page shows them) and the other messages (outs: cards
// updated in place, groups told, people told privately), for the caller to enqueue.
func AsPrivate(actor community.Person, now time.Time, fn func(r *Request) error) (replies []string, outs []Outbound, err error) {
	r := PrivateRequest(actor, now)
	if err := fn(r); err != nil {
		return nil, nil, err
	}
	for _, o := range r.Outs() {
		if o.UserID == actor.ID && o.ChatID == "" && o.Card == nil && len(o.Mentions) == 0 {
			replies = append(replies, o.Text)
			continue
		}
		outs = append(outs, o)
	}
	return replies, outs, nil
}
