package wecom

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/neighborbot/neighborbot/bot"
)

// envelope is the outer XML of a self-built app's callback.
type envelope struct {
	ToUserName string `xml:"ToUserName"`
	AgentID    string `xml:"AgentID"`
	Encrypt    string `xml:"Encrypt"`
}

// appXML is the decrypted XML of a self-built app's callback: a message or an event. Only the
// fields neighborbot reads are listed.
type appXML struct {
	ToUserName   string `xml:"ToUserName"`
	FromUserName string `xml:"FromUserName"`
	CreateTime   int64  `xml:"CreateTime"`
	MsgType      string `xml:"MsgType"`
	Content      string `xml:"Content"`
	MsgID        string `xml:"MsgId"`
	AgentID      string `xml:"AgentID"`
	Event        string `xml:"Event"`
	EventKey     string `xml:"EventKey"`
	// template_card_event
	TaskID       string `xml:"TaskId"`
	CardType     string `xml:"CardType"`
	ResponseCode string `xml:"ResponseCode"`
	// change_external_chat
	ChatID       string `xml:"ChatId"`
	ChangeType   string `xml:"ChangeType"`
	UpdateDetail string `xml:"UpdateDetail"`
}

// parseAppXMLSlow is parseAppXML by encoding/xml, for what flatXML does not read.
func parseAppXMLSlow(b []byte) (appXML, error) {
	var m appXML
	if err := xml.Unmarshal(b, &m); err != nil {
		return appXML{}, fmt.Errorf("wecom: callback xml: %w", err)
	}
	return m, nil
}

// aibotMsg is the decrypted JSON of an AI bot (智能机器人) callback.
type aibotMsg struct {
	MsgID       string `json:"msgid"`
	CreateTime  int64  `json:"create_time"`
	AIBotID     string `json:"aibotid"`
	ChatID      string `json:"chatid"`
	ChatType    string `json:"chattype"` // single or group
	ResponseURL string `json:"response_url"`
	MsgType     string `json:"msgtype"` // text, mixed, image, voice, file, event, stream
	From        struct {
		UserID string `json:"userid"`
	} `json:"from"`
	Text  aibotText `json:"text"`
	Mixed struct {
		Items []struct {
			MsgType string    `json:"msgtype"`
			Text    aibotText `json:"text"`
		} `json:"msg_item"`
	} `json:"mixed"`
	Event struct {
		Type string `json:"eventtype"`
	} `json:"event"`
}

type aibotText struct {
	Content string `json:"content"`
}

func parseAIBot(b []byte) (aibotMsg, error) {
	var m aibotMsg
	if err := json.Unmarshal(b, &m); err != nil {
		return aibotMsg{}, fmt.Errorf("wecom: aibot json: %w", err)
	}
	return m, nil
}

// errIgnored marks a callback that is valid but carries nothing for the handlers.
var errIgnored = errors.New("nothing to handle")

// appMessage turns an app callback into a bot.Message. Everything the app receives is
// one-to-one: a member writing to the app, or tapping a card the app sent them.
func appMessage(m appXML, loc *time.Location) (bot.Message, error) {
	if m.FromUserName == "" {
		return bot.Message{}, fmt.Errorf("%w: no sender", errIgnored)
	}
	at := time.Unix(m.CreateTime, 0).In(loc)
	msg := bot.Message{
		Platform: Name, ChatID: m.FromUserName, Private: true,
		UserID: UserID(m.FromUserName), At: at,
	}
	switch {
	case m.MsgType == "text":
		msg.EventID = m.MsgID
		if msg.EventID == "" {
			msg.EventID = "msg:" + m.FromUserName + ":" + strconv.FormatInt(m.CreateTime, 10)
		}
		msg.MessageID = m.MsgID
		msg.Text = strings.TrimSpace(m.Content)
		return msg, nil
	case m.MsgType == "event" && m.Event == "template_card_event":
		a, ok := parseButtonKey(m.EventKey)
		if !ok {
			return bot.Message{}, fmt.Errorf("%w: unknown card button %q", errIgnored, m.EventKey)
		}
		a.MessageID = m.TaskID
		msg.Action = a
		msg.MessageID = m.TaskID
		msg.EventID = strings.Join([]string{"evt", m.FromUserName, strconv.FormatInt(m.CreateTime, 10), m.Event, m.TaskID, m.EventKey}, ":")
		return msg, nil
	case m.MsgType == "event" && m.Event == "enter_agent":
		// Opening the app greets with the help once a day: the event id carries the date,
		// so the inbox dedupes every later entry that day.
		msg.Text = "帮助"
		msg.EventID = "enter_agent:" + m.FromUserName + ":" + at.Format("2006-01-02")
		return msg, nil
	}
	return bot.Message{}, fmt.Errorf("%w: %s %s", errIgnored, m.MsgType, m.Event)
}

// aibotMessage turns an AI bot callback into a bot.Message: in a group it was @-mentioned;
// the reply goes back through the one-shot response_url.
func aibotMessage(m aibotMsg, botName string, now time.Time) (bot.Message, error) {
	if m.From.UserID == "" || m.MsgID == "" {
		return bot.Message{}, fmt.Errorf("%w: no sender or msgid", errIgnored)
	}
	var text string
	switch m.MsgType {
	case "text":
		text = m.Text.Content
	case "mixed":
		var parts []string
		for _, it := range m.Mixed.Items {
			if it.MsgType == "text" {
				parts = append(parts, it.Text.Content)
			}
		}
		text = strings.Join(parts, "\n")
	default:
		return bot.Message{}, fmt.Errorf("%w: aibot %s %s", errIgnored, m.MsgType, m.Event.Type)
	}
	at := now
	if m.CreateTime > 0 {
		at = time.Unix(m.CreateTime, 0).In(now.Location())
	}
	msg := bot.Message{
		EventID: "aibot:" + m.MsgID, Platform: Name, UserID: UserID(m.From.UserID),
		MessageID: m.MsgID, At: at, ResponseURL: m.ResponseURL,
	}
	if m.ChatType == "group" && m.ChatID != "" {
		msg.ChatID = m.ChatID
		msg.GroupID = GroupID(m.ChatID)
		msg.Mentioned = true // the AI bot only hears group messages that @-mention it
		msg.Text = stripMention(text, botName)
	} else {
		msg.ChatID = m.From.UserID
		msg.Private = true
		msg.Text = strings.TrimSpace(text)
	}
	return msg, nil
}

// stripMention removes the @-mention of the bot: "@邻里帮" wherever it is, or else the leading
// "@name" (the AI bot's display name is set in WeCom and may differ from the config's).
func stripMention(text, botName string) string {
	text = strings.TrimSpace(text)
	if botName != "" && strings.Contains(text, "@"+botName) {
		return strings.TrimSpace(strings.Replace(text, "@"+botName, "", 1))
	}
	if strings.HasPrefix(text, "@") {
		if i := strings.IndexAny(text, " \u00a0\u2005\n"); i > 0 {
			return strings.TrimSpace(text[i:])
		}
		return ""
	}
	return text
}

// buttonKey encodes a card button as the key WeCom echoes back on a tap:
// action:item[:value[:ref]], value and ref query-escaped.
func buttonKey(b bot.Button) string {
	parts := []string{b.Action, strconv.FormatInt(b.Item, 10), url.QueryEscape(b.Value), url.QueryEscape(b.Ref)}
	for len(parts) > 2 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return strings.Join(parts, ":")
}

func parseButtonKey(key string) (*bot.Action, bool) {
	parts := strings.SplitN(key, ":", 4)
	if len(parts) < 2 || parts[0] == "" {
		return nil, false
	}
	item, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || item < 0 {
		return nil, false
	}
	a := &bot.Action{Name: parts[0], Item: item}
	if len(parts) > 2 {
		if a.Value, err = url.QueryUnescape(parts[2]); err != nil {
			return nil, false
		}
	}
	if len(parts) > 3 {
		if a.Ref, err = url.QueryUnescape(parts[3]); err != nil {
			return nil, false
		}
	}
	return a, true
}

// UserID qualifies a WeCom userid: "wecom:zhangsan".
func UserID(id string) string { return Name + ":" + id }

// GroupID qualifies a WeCom chat id: "wecom:wrxxxx".
func GroupID(chat string) string { return Name + ":" + chat }

// localID strips the platform prefix from a qualified id.
func localID(id string) string {
	if rest, ok := strings.CutPrefix(id, Name+":"); ok {
		return rest
	}
	return id
}
