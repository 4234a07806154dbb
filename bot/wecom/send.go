package wecom

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/silenceper/wechat/v2/util"
	"github.com/silenceper/wechat/v2/work/message"
	"github.com/silenceper/wechat/v2/work/robot"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
)

// API paths, relative to the base URL.
const (
	pathSend       = "/cgi-bin/message/send"
	pathUpdateCard = "/cgi-bin/message/update_template_card"
	pathWebhook    = "/cgi-bin/webhook/send"
	pathGetToken   = "/cgi-bin/gettoken"
)

// CollCards keeps, per template card (task id), the response codes that can update it: the
// one message/send returned and one per tap, each usable once.
const CollCards = "wecom_cards"

// robotPrefix marks the message id of a robot message: robots cannot edit what they sent.
const robotPrefix = "robot:"

type markdownField struct {
	Content string `json:"content"`
}

// appRequest is a message/send body: the SDK's common fields plus one content field.
type appRequest struct {
	*message.SendRequestCommon
	Text         *message.TextField `json:"text,omitempty"`
	Markdown     *markdownField     `json:"markdown,omitempty"`
	TemplateCard *templateCard      `json:"template_card,omitempty"`
}

type sendAnswer struct{ message.SendResponse }

func (a *sendAnswer) common() util.CommonError { return a.CommonError }

type updateRequest struct {
	AtAll        int           `json:"atall"`
	AgentID      int64         `json:"agentid"`
	ResponseCode string        `json:"response_code"`
	Button       *replaceName  `json:"button,omitempty"`
	TemplateCard *templateCard `json:"template_card,omitempty"`
}

type replaceName struct {
	ReplaceName string `json:"replace_name"`
}

// Send implements bot.Platform. A message without a user is for a group, and masked
// (bot.ForGroup); a message to a user goes to that person only, as it is.
func (p *Platform) Send(ctx context.Context, o bot.Outbound) (bot.Sent, error) {
	if o.UserID == "" {
		// For a group: through its robot, to its audience or as an answer through the
		// response_url. The last gate before the group: no ID, phone or door.
		o = bot.ForGroup(o)
	}
	if o.ResponseURL != "" {
		err := p.sendResponseURL(ctx, o)
		if err == nil {
			return bot.Sent{}, nil
		}
		var se *bot.SendError
		if !errors.As(err, &se) || se.Retryable || (o.ChatID == "" && o.UserID == "") {
			return bot.Sent{}, err
		}
		// The one-shot address was used or has expired (1 hour): say it the ordinary way.
		p.log.Info("wecom response_url refused; sending the ordinary way", "outbox", o.ID, "err", err)
	}
	switch {
	case o.UserID != "":
		return p.sendApp(ctx, []string{localID(o.UserID)}, o)
	case o.ChatID != "":
		return p.sendGroup(ctx, o)
	}
	return bot.Sent{}, bot.Permanent("no_target", fmt.Errorf("outbound %s has neither chat nor user", o.ID))
}

// sendResponseURL answers an AI bot callback through its response_url, as markdown.
func (p *Platform) sendResponseURL(ctx context.Context, o bot.Outbound) error {
	var content string
	if o.Card != nil {
		content = markdown(o.Card, atNames(o.Mentions))
	} else {
		content = bytesCut(joinNonEmpty(atNames(o.Mentions), o.Text), maxMarkdown)
	}
	body := map[string]any{"msgtype": "markdown", "markdown": markdownField{Content: content}}
	var ans plainAnswer
	if err := p.api.do(ctx, http.MethodPost, o.ResponseURL, body, &ans); err != nil {
		return err
	}
	return classify("aibot/response", ans.CommonError)
}

// sendGroup posts into a group: through its robot, or else as app messages to its party
// members and the people mentioned.
func (p *Platform) sendGroup(ctx context.Context, o bot.Outbound) (bot.Sent, error) {
	if key := p.robotKey(ctx, o.ChatID); key != "" {
		return p.sendRobot(ctx, key, o)
	}
	users, err := p.audience(ctx, o.ChatID)
	if err != nil {
		return bot.Sent{}, err
	}
	for _, m := range o.Mentions {
		if id := localID(m.UserID); id != "" && !slices.Contains(users, id) {
			users = append(users, id)
		}
	}
	if len(users) == 0 {
		return bot.Sent{}, bot.Permanent("no_route", fmt.Errorf("group %s has no robot key and no members on WeCom to send to", o.ChatID))
	}
	return p.sendApp(ctx, users, o)
}

// sendApp sends one app message to users: a button card, a card as markdown, or text.
func (p *Platform) sendApp(ctx context.Context, users []string, o bot.Outbound) (bot.Sent, error) {
	if len(users) > maxTouser {
		p.log.Warn("wecom app message cut to the first recipients", "outbox", o.ID, "recipients", len(users), "max", maxTouser)
		users = users[:maxTouser]
	}
	req, task := p.appRequest(users, o)
	var ans sendAnswer
	if err := p.api.call(ctx, pathSend, req, &ans); err != nil {
		return bot.Sent{}, err
	}
	if ans.InvalidUser != "" {
		p.log.Warn("wecom app message: some recipients unknown", "outbox", o.ID, "invalid", ans.InvalidUser)
	}
	if o.Image != nil && len(o.Image.PNG) > 0 {
		// The picture follows the message. A passing failure retries the entry: the message
		// is dropped by WeCom's duplicate check (outboxTag), the upload is not made again.
		if err := p.sendAppImage(ctx, users, o); err != nil {
			var se *bot.SendError
			if errors.As(err, &se) && se.Retryable {
				return bot.Sent{}, err
			}
			p.log.Warn("wecom app image not sent", "outbox", o.ID, "err", err)
		}
	}
	if task == "" {
		return bot.Sent{MessageID: ans.MsgID}, nil
	}
	if ans.ResponseCode != "" {
		if err := p.pushCode(ctx, task, ans.ResponseCode); err != nil {
			p.log.Warn("wecom card response code not kept; the card updates after the next tap", "task", task, "err", err)
		}
	}
	return bot.Sent{MessageID: task}, nil
}

// appRequest builds the message/send body, and the card's task id if it is a button card.
func (p *Platform) appRequest(users []string, o bot.Outbound) (appRequest, string) {
	req := appRequest{SendRequestCommon: &message.SendRequestCommon{
		ToUser: strings.Join(users, "|"), AgentID: strconv.FormatInt(p.agentID, 10),
		// message/send takes no idempotency key, so a send whose answer was lost (the bot
		// cannot know it arrived) would arrive twice when retried. WeCom's duplicate check
		// drops a message identical to one sent within the interval (same recipients and
		// content); outboxTag makes the content of each outbox entry its own, so only a
		// retry of the same entry is identical (docs/WECOM.md, "Sent once").
		EnableDuplicateCheck: 1, DuplicateCheckInterval: duplicateCheckInterval,
	}}
	task := ""
	tag := outboxTag(o.ID)
	switch {
	case o.Card != nil && len(o.Card.Buttons) > 0:
		task = taskID(o.ID) // a card's task id is its outbox id's already
		tc := buttonCard(o.Card, p.o.BotName, task)
		req.MsgType, req.TemplateCard = "template_card", &tc
	case o.Card != nil:
		req.MsgType, req.Markdown = "markdown", &markdownField{Content: bytesCut(markdown(o.Card, ""), maxMarkdown-len(tag)) + tag}
	default:
		text := o.Text
		if o.ChatID != "" { // a group message delivered one by one: say who it is for
			text = joinNonEmpty(atNames(o.Mentions), text)
		}
		req.MsgType, req.Text = "text", &message.TextField{Content: bytesCut(text, maxText-len(tag)) + tag}
	}
	return req, task
}

// duplicateCheckInterval (seconds) covers the dispatcher's whole retry ladder (12 attempts,
// backoff doubling from 250 ms: under 15 minutes with the send timeouts) and a lease that
// runs out after a crash (2 minutes), with room to spare. It is WeCom's default, kept short
// of the 4-hour maximum so that, should WeCom ever compare content without outboxTag's
// invisible characters, a text legitimately repeated to the same people is held back for
// at most half an hour.
const duplicateCheckInterval = 1800

// Zero-width characters outboxTag writes with: ZERO WIDTH SPACE is 0, ZERO WIDTH NON-JOINER
// is 1. Neither shows, takes room, or joins with a Chinese character or an emoji next to it.
const (
	zw0 = "\u200b"
	zw1 = "\u200c"
)

// tagBits is how many bits of the outbox id's hash outboxTag carries: two different entries
// with the same text to the same people within the interval share a tag (and WeCom would
// drop the second) once in 2^20.
const tagBits = 20

// outboxTag is an invisible suffix derived from the outbox id: a retried send carries the
// same one (WeCom's duplicate check drops it), while another entry with the same text
// carries another (it is delivered). People read the same words; the tag is 60 bytes.
func outboxTag(outboundID string) string {
	if outboundID == "" {
		return ""
	}
	h := sha256.Sum256([]byte("wecom-dup:" + outboundID))
	v := uint32(h[0])<<16 | uint32(h[1])<<8 | uint32(h[2])
	var b strings.Builder
	b.Grow(tagBits * len(zw0))
	for i := range tagBits {
		if v>>(tagBits-1-i)&1 == 0 {
			b.WriteString(zw0)
		} else {
			b.WriteString(zw1)
		}
	}
	return b.String()
}

// sendRobot posts through a group robot. Text keeps real mentions (mentioned_list); a card
// becomes markdown. A non-zero errcode is an error even though the HTTP call succeeded.
func (p *Platform) sendRobot(ctx context.Context, key string, o bot.Outbound) (bot.Sent, error) {
	body := robotBody(o)
	var ans plainAnswer
	u := p.o.BaseURL + pathWebhook + "?key=" + url.QueryEscape(key)
	if err := p.api.do(ctx, http.MethodPost, u, body, &ans); err != nil {
		return bot.Sent{}, err
	}
	if err := classify(pathWebhook, ans.CommonError); err != nil {
		return bot.Sent{}, err
	}
	if o.Image != nil && len(o.Image.PNG) > 0 {
		if err := p.sendRobotImage(ctx, u, o.Image.PNG); err != nil {
			// The message is shown; its picture is not worth showing the message twice for.
			p.log.Warn("wecom robot image not sent", "outbox", o.ID, "err", err)
		}
	}
	return bot.Sent{MessageID: robotPrefix + o.ID}, nil
}

// robotBody is a webhook/send body: text with mentioned_list, or a card as markdown.
func robotBody(o bot.Outbound) any {
	if o.Card != nil {
		var md robot.WebhookSendMarkdownOption
		md.MsgType = "markdown"
		md.Markdown.Content = markdown(o.Card, atIDs(o.Mentions))
		return md
	}
	var t robot.WebhookSendTextOption
	t.MsgType = "text"
	t.Text.Content = bytesCut(o.Text, maxText)
	t.Text.MentionedList = []string{}
	t.Text.MentionedMobileList = []string{}
	for _, m := range o.Mentions {
		if id := localID(m.UserID); id != "" {
			t.Text.MentionedList = append(t.Text.MentionedList, id)
		}
	}
	return t
}

// UpdateCard implements bot.CardUpdater: update_template_card with a response code the card's
// send or a tap left. With none left (each works once), the card is sent afresh and the
// card's reference points at the new one.
func (p *Platform) UpdateCard(ctx context.Context, messageID string, o bot.Outbound) error {
	if o.Card == nil || strings.HasPrefix(messageID, robotPrefix) {
		return nil // robots cannot edit; the handlers announce each change in text as well
	}
	if o.UserID == "" {
		o = bot.ForGroup(o) // the card of a group, updated for all its recipients
	}
	code, err := p.peekCode(ctx, messageID)
	if err != nil {
		return err
	}
	if code == "" {
		return p.resend(ctx, o)
	}
	req := p.updateRequest(messageID, code, o.Card)
	var ans plainAnswer
	err = p.api.call(ctx, pathUpdateCard, req, &ans)
	var se *bot.SendError
	switch {
	case err == nil:
		p.dropCode(ctx, messageID, code)
		return nil
	case errors.As(err, &se) && !se.Retryable:
		// The code is spent or expired: the next try takes another, or sends afresh.
		p.dropCode(ctx, messageID, code)
		return bot.Temporary("response_code", 0, err)
	}
	return err
}

// updateRequest is an update_template_card body for every recipient of the card: the new
// card, or, with no buttons left, the old one's buttons greyed out with the new state.
func (p *Platform) updateRequest(task, code string, c *bot.Card) updateRequest {
	req := updateRequest{AtAll: 1, AgentID: p.agentID, ResponseCode: code}
	if len(c.Buttons) > 0 {
		tc := buttonCard(c, p.o.BotName, task)
		req.TemplateCard = &tc
	} else {
		req.Button = &replaceName{ReplaceName: stateLabel(c)}
	}
	return req
}

// resend sends the card as a new message and re-points its reference.
func (p *Platform) resend(ctx context.Context, o bot.Outbound) error {
	o.Update = false
	sent, err := p.Send(ctx, o)
	if err != nil {
		return err
	}
	if sent.MessageID == "" || o.Card.Key == "" {
		return nil
	}
	if err := p.o.Docs.PutDoc(ctx, bot.CollCardRef, bot.CardRefID(Name, o.Target(), o.Card.Key), []byte(sent.MessageID)); err != nil {
		p.log.Warn("card reference not saved", "outbox", o.ID, "err", err)
	}
	if err := p.o.Docs.PutDoc(ctx, bot.CollMsgRef, bot.MsgRefID(Name, sent.MessageID), []byte(o.Card.Key)); err != nil {
		p.log.Warn("message reference not saved", "outbox", o.ID, "err", err)
	}
	return nil
}

// taskID is a card's task id, derived from the outbound id so a retried send reuses it; WeCom
// allows letters, digits and _-@, at most 128 bytes, unique per app.
func taskID(outboundID string) string {
	h := sha256.Sum256([]byte(outboundID))
	return "nb" + hex.EncodeToString(h[:15])
}

type cardDoc struct {
	Codes []string `json:"codes"` // oldest first
}

const maxCodes = 8

func (p *Platform) pushCode(ctx context.Context, task, code string) error {
	_, err := p.o.Docs.UpdateDoc(ctx, CollCards, task, func(old []byte) ([]byte, error) {
		var d cardDoc
		if old != nil {
			_ = json.Unmarshal(old, &d)
		}
		if slices.Contains(d.Codes, code) {
			return old, nil // a retried callback
		}
		d.Codes = append(d.Codes, code)
		if len(d.Codes) > maxCodes {
			d.Codes = d.Codes[len(d.Codes)-maxCodes:]
		}
		return json.Marshal(d)
	})
	return err
}

// peekCode returns the newest code (the one least likely to have expired), or "".
func (p *Platform) peekCode(ctx context.Context, task string) (string, error) {
	raw, err := p.o.Docs.GetDoc(ctx, CollCards, task)
	if community.ErrorCode(err) == community.ENotFound {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var d cardDoc
	if json.Unmarshal(raw, &d) != nil || len(d.Codes) == 0 {
		return "", nil
	}
	return d.Codes[len(d.Codes)-1], nil
}

func (p *Platform) dropCode(ctx context.Context, task, code string) {
	_, err := p.o.Docs.UpdateDoc(ctx, CollCards, task, func(old []byte) ([]byte, error) {
		var d cardDoc
		if old == nil || json.Unmarshal(old, &d) != nil {
			return old, nil
		}
		d.Codes = slices.DeleteFunc(d.Codes, func(c string) bool { return c == code })
		return json.Marshal(d)
	})
	if err != nil {
		p.log.Warn("spent response code not dropped", "task", task, "err", err)
	}
}

// robotKey is the webhook key of a group's robot: from the config, else from the directory.
func (p *Platform) robotKey(ctx context.Context, chat string) string {
	if k := p.o.Robots[chat]; k != "" {
		return k
	}
	g, err := p.o.Directory.GetGroup(ctx, GroupID(chat))
	if err != nil {
		return ""
	}
	return g.RobotKey
}

type audience struct {
	users []string
	at    time.Time
}

// audienceTTL bounds how stale a group's recipient list may be; reading every person for each
// group message would not scale to a city.
const audienceTTL = time.Minute

// audience lists the WeCom user ids of the party members, gridworkers and secretaries whose
// node lies within the group's node (everyone's, for a group not bound yet). The role is the
// effective one (community.EffectiveRole): someone whose 报到 is not approved yet is a
// resident and gets no cards with 接单 buttons.
func (p *Platform) audience(ctx context.Context, chat string) ([]string, error) {
	now := p.o.Now()
	p.audMu.Lock()
	if a, ok := p.audiences[chat]; ok && now.Sub(a.at) < audienceTTL {
		p.audMu.Unlock()
		return slices.Clone(a.users), nil
	}
	p.audMu.Unlock()

	node := ""
	g, err := p.o.Directory.GetGroup(ctx, GroupID(chat))
	switch {
	case err == nil:
		node = g.Node
	case community.ErrorCode(err) != community.ENotFound:
		return nil, bot.Temporary("directory", 0, err)
	}
	persons, err := p.o.Directory.ListPersons(ctx)
	if err != nil {
		return nil, bot.Temporary("directory", 0, err)
	}
	var users []string
	for _, per := range persons {
		plat, id := community.SplitID(per.ID)
		if plat != Name || id == "" || !community.EffectiveRole(per).AtLeast(community.RoleMember) {
			continue
		}
		if node != "" && !p.o.Within(per.Node, node) {
			continue
		}
		users = append(users, id)
	}
	slices.Sort(users)
	p.audMu.Lock()
	p.audiences[chat] = audience{users: users, at: now}
	p.audMu.Unlock()
	return slices.Clone(users), nil
}
