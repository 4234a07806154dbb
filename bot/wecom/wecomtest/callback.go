package wecomtest

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/neighborbot/neighborbot/bot/wecom"
)

// Callbacks builds callbacks as WeCom sends them: encrypted and signed with the app's (or the
// AI bot's) token and EncodingAESKey, stamped with Now.
type Callbacks struct {
	Token, AESKey string
	// ReceiveID is the CorpID for the app, "" for the AI bot.
	ReceiveID string
	Now       func() time.Time

	nonce atomic.Int64
}

func (c *Callbacks) crypto() *wecom.Crypto {
	cr, err := wecom.NewCrypto(c.Token, c.AESKey, c.ReceiveID)
	if err != nil {
		panic(fmt.Sprintf("wecomtest: %v", err))
	}
	return cr
}

// Query signs encrypted: the msg_signature, timestamp and nonce parameters.
func (c *Callbacks) Query(encrypted string) url.Values {
	ts := strconv.FormatInt(c.Now().Unix(), 10)
	nonce := strconv.FormatInt(1000000+c.nonce.Add(1), 10)
	return url.Values{"msg_signature": {c.crypto().Signature(ts, nonce, encrypted)}, "timestamp": {ts}, "nonce": {nonce}}
}

// Encrypt seals plain for the receiver.
func (c *Callbacks) Encrypt(plain []byte) string {
	enc, err := c.crypto().Encrypt(plain)
	if err != nil {
		panic(fmt.Sprintf("wecomtest: %v", err))
	}
	return enc
}

// Verify is the URL verification WeCom makes when the callback URL is saved: a GET with an
// encrypted echostr, which must be answered decrypted.
func (c *Callbacks) Verify(callbackURL, echo string) *http.Request {
	enc := c.Encrypt([]byte(echo))
	q := c.Query(enc)
	q.Set("echostr", enc)
	req, _ := http.NewRequest(http.MethodGet, callbackURL+"?"+q.Encode(), nil)
	return req
}

// App is a self-built app's callback carrying plainXML.
func (c *Callbacks) App(callbackURL, plainXML string) *http.Request {
	enc := c.Encrypt([]byte(plainXML))
	body := fmt.Sprintf("<xml><ToUserName><![CDATA[%s]]></ToUserName><AgentID><![CDATA[1000002]]></AgentID><Encrypt><![CDATA[%s]]></Encrypt></xml>", c.ReceiveID, enc)
	req, _ := http.NewRequest(http.MethodPost, callbackURL+"?"+c.Query(enc).Encode(), strings.NewReader(body))
	req.Header.Set("Content-Type", "text/xml")
	return req
}

// AIBot is an AI bot's callback carrying msg (marshalled to JSON).
func (c *Callbacks) AIBot(callbackURL string, msg any) *http.Request {
	plain, err := json.Marshal(msg)
	if err != nil {
		panic(err)
	}
	enc := c.Encrypt(plain)
	body, _ := json.Marshal(map[string]string{"encrypt": enc})
	req, _ := http.NewRequest(http.MethodPost, callbackURL+"?"+c.Query(enc).Encode(), strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	return req
}

// AppXML is a decrypted app callback; marshal it with XML.
type AppXML struct {
	XMLName      xml.Name `xml:"xml"`
	ToUserName   string   `xml:"ToUserName"`
	FromUserName string   `xml:"FromUserName"`
	CreateTime   int64    `xml:"CreateTime"`
	MsgType      string   `xml:"MsgType"`
	Content      string   `xml:"Content,omitempty"`
	MsgID        string   `xml:"MsgId,omitempty"`
	AgentID      string   `xml:"AgentID,omitempty"`
	Event        string   `xml:"Event,omitempty"`
	EventKey     string   `xml:"EventKey,omitempty"`
	TaskID       string   `xml:"TaskId,omitempty"`
	CardType     string   `xml:"CardType,omitempty"`
	ResponseCode string   `xml:"ResponseCode,omitempty"`
	ChatID       string   `xml:"ChatId,omitempty"`
	ChangeType   string   `xml:"ChangeType,omitempty"`
}

// String is the XML.
func (x AppXML) String() string {
	b, err := xml.Marshal(x)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// Text is a member's text message to the app.
func Text(corpID, from, content, msgID string, at time.Time) string {
	return AppXML{ToUserName: corpID, FromUserName: from, CreateTime: at.Unix(), MsgType: "text",
		Content: content, MsgID: msgID, AgentID: "1000002"}.String()
}

// CardTap is a tap on a template card button.
func CardTap(corpID, from, taskID, key, responseCode string, at time.Time) string {
	return AppXML{ToUserName: corpID, FromUserName: from, CreateTime: at.Unix(), MsgType: "event",
		Event: "template_card_event", EventKey: key, TaskID: taskID, CardType: "button_interaction",
		ResponseCode: responseCode, AgentID: "1000002"}.String()
}

// EnterAgent is a member opening the app.
func EnterAgent(corpID, from string, at time.Time) string {
	return AppXML{ToUserName: corpID, FromUserName: from, CreateTime: at.Unix(), MsgType: "event",
		Event: "enter_agent", AgentID: "1000002"}.String()
}

// ExternalChat is a customer group change (create, update, dismiss).
func ExternalChat(corpID, chatID, change string, at time.Time) string {
	return AppXML{ToUserName: corpID, FromUserName: "sys", CreateTime: at.Unix(), MsgType: "event",
		Event: "change_external_chat", ChatID: chatID, ChangeType: change}.String()
}

// AIBotText is an AI bot text message; chatType "group" (with ChatID) or "single".
type AIBotText struct {
	MsgID       string    `json:"msgid"`
	CreateTime  int64     `json:"create_time,omitempty"`
	AIBotID     string    `json:"aibotid"`
	ChatID      string    `json:"chatid,omitempty"`
	ChatType    string    `json:"chattype"`
	From        AIBotFrom `json:"from"`
	ResponseURL string    `json:"response_url"`
	MsgType     string    `json:"msgtype"`
	Text        struct {
		Content string `json:"content"`
	} `json:"text"`
}

// AIBotFrom is the sender of an AI bot message.
type AIBotFrom struct {
	UserID string `json:"userid"`
}

// GroupMention is someone @-mentioning the AI bot in a group.
func GroupMention(msgID, chatID, from, botName, text, responseURL string) AIBotText {
	m := AIBotText{MsgID: msgID, AIBotID: "aibot1", ChatID: chatID, ChatType: "group",
		From: AIBotFrom{UserID: from}, ResponseURL: responseURL, MsgType: "text"}
	m.Text.Content = "@" + botName + " " + text
	return m
}
