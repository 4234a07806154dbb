package oa

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/neighborbot/neighborbot/bot"
)

// envelope is a safe-mode POST's outer XML.
type envelope struct {
	ToUserName string `xml:"ToUserName"`
	Encrypt    string `xml:"Encrypt"`
}

// Msg is a decrypted callback message: the fields neighborbot reads. encoding/xml reads CDATA
// sections and escaped text alike.
type Msg struct {
	ToUserName   string `xml:"ToUserName"`
	FromUserName string `xml:"FromUserName"` // the sender's openid
	CreateTime   int64  `xml:"CreateTime"`
	MsgType      string `xml:"MsgType"` // text, voice, image, event, ...
	Content      string `xml:"Content"`
	Recognition  string `xml:"Recognition"` // voice: WeChat's recognition, when enabled
	PicURL       string `xml:"PicUrl"`
	MediaID      string `xml:"MediaId"`
	MsgID        string `xml:"MsgId"`
	Event        string `xml:"Event"` // subscribe, unsubscribe, SCAN, CLICK, ...
	EventKey     string `xml:"EventKey"`
}

// maxXML bounds a decrypted message (the body limit bounds it anyway).
const maxXML = 1 << 20

// Decode reads a decrypted callback message. It fails on anything that is not one <xml>
// element, or on a message without a sender or type.
func Decode(b []byte) (Msg, error) {
	var m Msg
	if len(b) > maxXML {
		return m, errors.New("message too large")
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	var root struct {
		XMLName xml.Name `xml:"xml"`
		Msg
	}
	if err := d.Decode(&root); err != nil {
		return Msg{}, fmt.Errorf("message xml: %w", err)
	}
	m = root.Msg
	m.FromUserName = strings.TrimSpace(m.FromUserName)
	m.MsgType = strings.TrimSpace(m.MsgType)
	if m.FromUserName == "" || m.MsgType == "" {
		return Msg{}, errors.New("message xml: no FromUserName or MsgType")
	}
	if strings.ContainsAny(m.FromUserName, ":/ \t\n") || len(m.FromUserName) > 128 {
		return Msg{}, errors.New("message xml: malformed openid")
	}
	return m, nil
}

// errIgnored is a message the bot has nothing to do with (unsubscribe, location, ...).
var errIgnored = errors.New("ignored")

// Menu button keys (neighborbot oa menu installs them).
const (
	KeyNeed       = "oa_need" // 我要点单: how to file a need
	KeyMine       = "oa_mine" // 我的需求: 我的
	KeyHelp       = "oa_help" // 帮助
	KeyTextPrefix = "text:"   // a tap stands for the text after it (MenuButton.Text)
)

// Action names the adapter's Handle answers.
const (
	ActScan    = "oa_scan"   // a scanned parametric QR code: Ref is the scene (org node id)
	ActFollow  = "oa_follow" // a follow without a scene
	ActNeedHow = "oa_need_how"
	ActImage   = "oa_image" // an image: Ref is its PicUrl, Value its MediaId
)

// message turns a callback message into the bot's: a private message from "oa:<openid>".
// Events have no MsgId: their id is the sender and the time, which WeChat's retries repeat.
func message(m Msg, loc *time.Location) (bot.Message, error) {
	out := bot.Message{
		Platform: Name, ChatID: m.FromUserName, Private: true, UserID: UserID(m.FromUserName),
		MessageID: m.MsgID, At: time.Unix(m.CreateTime, 0).In(loc),
	}
	if m.MsgID != "" {
		out.EventID = "msg:" + m.MsgID
	} else {
		out.EventID = "ev:" + m.FromUserName + ":" + strconv.FormatInt(m.CreateTime, 10) + ":" + m.Event
	}
	switch m.MsgType {
	case "text":
		out.Text = strings.TrimSpace(m.Content)
	case "voice":
		out.Text = strings.TrimSpace(m.Recognition)
		if out.Text == "" {
			out.Text = "帮助" // no recognition: tell them what works
		}
	case "image":
		out.Action = &bot.Action{Name: ActImage, Ref: m.PicURL, Value: m.MediaID}
	case "event":
		switch strings.ToLower(m.Event) {
		case "subscribe":
			if scene, ok := strings.CutPrefix(m.EventKey, "qrscene_"); ok && scene != "" {
				out.Action = &bot.Action{Name: ActScan, Ref: scene}
			} else {
				out.Action = &bot.Action{Name: ActFollow}
			}
		case "scan":
			if m.EventKey == "" {
				return bot.Message{}, errIgnored
			}
			out.Action = &bot.Action{Name: ActScan, Ref: m.EventKey}
		case "click":
			switch m.EventKey {
			case KeyMine:
				out.Text = "我的"
			case KeyHelp:
				out.Text = "帮助"
			case KeyNeed:
				out.Action = &bot.Action{Name: ActNeedHow}
			default:
				text, ok := strings.CutPrefix(m.EventKey, KeyTextPrefix)
				if !ok {
					return bot.Message{}, errIgnored
				}
				out.Text = strings.TrimSpace(text)
			}
		default:
			return bot.Message{}, errIgnored // unsubscribe, VIEW, LOCATION, TEMPLATESENDJOBFINISH...
		}
	default:
		return bot.Message{}, errIgnored
	}
	if out.Action == nil && out.Text == "" {
		return bot.Message{}, errIgnored
	}
	return out, nil
}
