package bot

import (
	"slices"

	"github.com/neighborbot/neighborbot/community"
)

// ForGroup returns a copy of o with everything people read masked (community.Mask): the
// text, and the card's title, text, field labels and values, footer and button labels.
// Adapters call it on every message a group sees, as the last gate before the platform;
// private messages are not masked, since the secretary and the claimer need the numbers.
// o itself, its card included, is never changed: the outbox may retry or log it.
func ForGroup(o Outbound) Outbound {
	o.Text = community.Mask(o.Text)
	if o.Card == nil {
		return o
	}
	c := *o.Card
	c.Title = community.Mask(c.Title)
	c.Text = community.Mask(c.Text)
	c.Footer = community.Mask(c.Footer)
	c.Fields = slices.Clone(c.Fields)
	for i := range c.Fields {
		c.Fields[i].Label = community.Mask(c.Fields[i].Label)
		c.Fields[i].Value = community.Mask(c.Fields[i].Value)
	}
	c.Buttons = slices.Clone(c.Buttons)
	for i := range c.Buttons {
		c.Buttons[i].Label = community.Mask(c.Buttons[i].Label)
	}
	c.Mentions = slices.Clone(c.Mentions)
	o.Card = &c
	return o
}

// Private reports whether o goes to one person only (a user and no chat), so that
// adapters which send to the chat whenever there is one mask everything else.
func Private(o Outbound) bool { return o.UserID != "" && o.ChatID == "" }
