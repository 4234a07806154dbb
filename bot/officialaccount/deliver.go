package oa

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/neighborbot/neighborbot/bot"
)

// Send implements bot.Platform. Only private messages exist here (no groups): a
// customer-service text while the person's 48-hour window is open, else the status template
// message. A person marked unreachable (unfollowed, refused) is not called again until they
// write again.
func (p *Platform) Send(ctx context.Context, o bot.Outbound) (bot.Sent, error) {
	if o.UserID == "" {
		return bot.Sent{}, bot.Permanent("no_user", errors.New("oa: only private messages can be sent to a Service Account follower"))
	}
	openID := OpenID(o.UserID)
	if _, err := p.o.Store.GetDoc(ctx, CollUnreachable, openID); err == nil {
		return bot.Sent{}, bot.Permanent("unreachable", errors.New("oa: the person no longer follows the account or refused messages"))
	}
	text := render(o)
	if p.o.Now().Sub(p.lastSeen(ctx, openID)) < customWindow {
		err := p.api.call(ctx, pathCustomSend, map[string]any{
			"touser": openID, "msgtype": "text", "text": map[string]string{"content": text},
		}, nil)
		if err == nil {
			return bot.Sent{}, nil
		}
		if code(err) != codeWindow {
			return bot.Sent{}, p.failed(ctx, openID, err)
		}
		// The window closed (WeChat counts it, not we): the template below.
	}
	if p.o.Status.ID == "" {
		return bot.Sent{}, bot.Permanent(strconv.Itoa(codeWindow), errors.New("oa: past the 48-hour window and no status template configured"))
	}
	err := p.api.call(ctx, pathTemplate, p.templateBody(openID, text), nil)
	if err != nil {
		return bot.Sent{}, p.failed(ctx, openID, err)
	}
	return bot.Sent{}, nil
}

// failed classifies a send error and marks the person unreachable on 43004 / 43101.
func (p *Platform) failed(ctx context.Context, openID string, err error) error {
	if c := code(err); c == codeNotFollow || c == codeRefused {
		if perr := p.markUnreachable(ctx, openID, strconv.FormatInt(c, 10)); perr != nil {
			p.log.Warn("oa unreachable mark not recorded", "err", perr)
		}
	}
	return classify(err)
}

// templateBody fills the status template: the item number (the first "#N" of the text), what
// happened (the text, cut to WeChat's 20 characters for a thing field) and the time.
func (p *Platform) templateBody(openID, text string) map[string]any {
	t := p.o.Status
	data := map[string]any{}
	if t.ItemField != "" {
		data[t.ItemField] = map[string]string{"value": itemNumber(text)}
	}
	if t.StatusField != "" {
		data[t.StatusField] = map[string]string{"value": cut(firstLine(text), 20)}
	}
	if t.TimeField != "" {
		data[t.TimeField] = map[string]string{"value": p.o.Now().Format("2006-01-02 15:04")}
	}
	return map[string]any{"touser": openID, "template_id": t.ID, "data": data}
}

func itemNumber(text string) string {
	i := strings.IndexByte(text, '#')
	if i < 0 {
		return "-"
	}
	j := i + 1
	for j < len(text) && text[j] >= '0' && text[j] <= '9' {
		j++
	}
	if j == i+1 {
		return "-"
	}
	return text[i:j]
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// render writes an outbound message as plain text: a card's title, text and fields (a
// follower cannot tap buttons; the card's commands are in its text and footer).
func render(o bot.Outbound) string {
	var b strings.Builder
	b.WriteString(o.Text)
	if c := o.Card; c != nil {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString(c.Title)
		if c.Text != "" {
			b.WriteString("\n" + c.Text)
		}
		for _, f := range c.Fields {
			b.WriteString("\n" + f.Label + "：" + f.Value)
		}
		if c.Footer != "" {
			b.WriteString("\n" + c.Footer)
		}
	}
	return b.String()
}

// QR makes the permanent parametric QR code of node (scene string = the node id, at most 64
// bytes) and returns its ticket and the address of its image.
func (p *Platform) QR(ctx context.Context, node string) (ticket, imageURL string, err error) {
	if node == "" || len(node) > 64 {
		return "", "", fmt.Errorf("oa qr: scene %q must be 1 to 64 bytes", node)
	}
	var res struct {
		Ticket string `json:"ticket"`
		URL    string `json:"url"`
	}
	body := map[string]any{"action_name": "QR_LIMIT_STR_SCENE",
		"action_info": map[string]any{"scene": map[string]string{"scene_str": node}}}
	if err := p.api.call(ctx, pathQRCreate, body, &res); err != nil {
		return "", "", fmt.Errorf("oa qrcode/create: %w", err)
	}
	if res.Ticket == "" {
		return "", "", errors.New("oa qrcode/create: no ticket")
	}
	return res.Ticket, p.o.ShowQRURL + "?ticket=" + urlQuery(res.Ticket), nil
}

// QRImage fetches the image of a QR ticket.
func (p *Platform) QRImage(ctx context.Context, ticket string) ([]byte, error) {
	return p.api.get(ctx, p.o.ShowQRURL+"?ticket="+urlQuery(ticket))
}

// MenuButton is one button of the account's menu.
type MenuButton struct {
	Name string // shown; a top-level button takes at most 16 bytes (5 Chinese characters)
	// Text is what a tap stands for, as if the person had sent it ("我的", "帮助"); empty:
	// the answer on how to file a need (我要点单).
	Text string
}

// Key is the button's click key: KeyNeed, or "text:" and its text.
func (b MenuButton) Key() string {
	if b.Text == "" {
		return KeyNeed
	}
	return KeyTextPrefix + b.Text
}

// DefaultMenu is 我要点单 / 我的需求 / 帮助.
func DefaultMenu() []MenuButton {
	return []MenuButton{{Name: "我要点单"}, {Name: "我的需求", Text: "我的"}, {Name: "帮助", Text: "帮助"}}
}

// InstallMenu sets the account's custom menu (menu/create).
func (p *Platform) InstallMenu(ctx context.Context, buttons []MenuButton) error {
	var bs []map[string]string
	for _, b := range buttons {
		bs = append(bs, map[string]string{"type": "click", "name": b.Name, "key": b.Key()})
	}
	if err := p.api.call(ctx, pathMenuCreate, map[string]any{"button": bs}, nil); err != nil {
		return fmt.Errorf("oa menu/create: %w", err)
	}
	return nil
}
