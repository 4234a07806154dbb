package oatest

import (
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

// Callbacks builds callbacks as WeChat sends them in safe mode (安全模式): the message XML
// encrypted with the EncodingAESKey for the AppID, signed with the token, stamped with Now.
type Callbacks struct {
	Token, AESKey, AppID string
	Now                  func() time.Time

	nonce atomic.Int64
}

func (c *Callbacks) crypto() *wecom.Crypto {
	cr, err := wecom.NewCrypto(c.Token, c.AESKey, c.AppID)
	if err != nil {
		panic(fmt.Sprintf("oatest: %v", err))
	}
	return cr
}

// Verify is the server URL check WeChat makes when the URL is saved: signature over token,
// timestamp and nonce, and an echostr to answer as it is.
func (c *Callbacks) Verify(callbackURL, echo string) *http.Request {
	ts := strconv.FormatInt(c.Now().Unix(), 10)
	nonce := strconv.FormatInt(2000000+c.nonce.Add(1), 10)
	q := url.Values{"signature": {c.crypto().Signature(ts, nonce, "")}, "timestamp": {ts}, "nonce": {nonce}, "echostr": {echo}}
	req, _ := http.NewRequest(http.MethodGet, callbackURL+"?"+q.Encode(), nil)
	return req
}

// Post is a safe-mode message callback carrying plainXML from openID.
func (c *Callbacks) Post(callbackURL, openID, plainXML string) *http.Request {
	enc, err := c.crypto().Encrypt([]byte(plainXML))
	if err != nil {
		panic(fmt.Sprintf("oatest: %v", err))
	}
	ts := strconv.FormatInt(c.Now().Unix(), 10)
	nonce := strconv.FormatInt(2000000+c.nonce.Add(1), 10)
	q := url.Values{
		"signature": {c.crypto().Signature(ts, nonce, "")}, "timestamp": {ts}, "nonce": {nonce},
		"openid": {openID}, "encrypt_type": {"aes"}, "msg_signature": {c.crypto().Signature(ts, nonce, enc)},
	}
	body := "<xml><ToUserName><![CDATA[gh_fake]]></ToUserName><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>"
	req, _ := http.NewRequest(http.MethodPost, callbackURL+"?"+q.Encode(), strings.NewReader(body))
	req.Header.Set("Content-Type", "text/xml")
	return req
}

// Msg is a decrypted callback message, as WeChat writes it.
type Msg struct {
	XMLName      xml.Name `xml:"xml"`
	ToUserName   cdata    `xml:"ToUserName"`
	FromUserName cdata    `xml:"FromUserName"`
	CreateTime   int64    `xml:"CreateTime"`
	MsgType      cdata    `xml:"MsgType"`
	Content      *cdata   `xml:"Content,omitempty"`
	Recognition  *cdata   `xml:"Recognition,omitempty"`
	PicURL       *cdata   `xml:"PicUrl,omitempty"`
	MediaID      *cdata   `xml:"MediaId,omitempty"`
	Event        *cdata   `xml:"Event,omitempty"`
	EventKey     *cdata   `xml:"EventKey,omitempty"`
	Ticket       *cdata   `xml:"Ticket,omitempty"`
	MsgID        string   `xml:"MsgId,omitempty"`
}

type cdata struct {
	S string `xml:",cdata"`
}

func c(s string) *cdata { return &cdata{S: s} }

func (m Msg) String() string {
	b, err := xml.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// Text is a text message from openID.
func Text(openID, content, msgID string, at time.Time) string {
	return Msg{ToUserName: cdata{"gh_fake"}, FromUserName: cdata{openID}, CreateTime: at.Unix(), MsgType: cdata{"text"},
		Content: c(content), MsgID: msgID}.String()
}

// Voice is a voice message with WeChat's recognition of it.
func Voice(openID, recognition, msgID string, at time.Time) string {
	return Msg{ToUserName: cdata{"gh_fake"}, FromUserName: cdata{openID}, CreateTime: at.Unix(), MsgType: cdata{"voice"},
		MediaID: c("media-voice"), Recognition: c(recognition), MsgID: msgID}.String()
}

// Image is an image message.
func Image(openID, picURL, mediaID, msgID string, at time.Time) string {
	return Msg{ToUserName: cdata{"gh_fake"}, FromUserName: cdata{openID}, CreateTime: at.Unix(), MsgType: cdata{"image"},
		PicURL: c(picURL), MediaID: c(mediaID), MsgID: msgID}.String()
}

// Subscribe is a follow by scanning the parametric QR code of scene ("" for a plain follow).
func Subscribe(openID, scene string, at time.Time) string {
	m := Msg{ToUserName: cdata{"gh_fake"}, FromUserName: cdata{openID}, CreateTime: at.Unix(), MsgType: cdata{"event"}, Event: c("subscribe")}
	if scene != "" {
		m.EventKey, m.Ticket = c("qrscene_"+scene), c("ticket-"+scene)
	}
	return m.String()
}

// Scan is a follower scanning the parametric QR code of scene.
func Scan(openID, scene string, at time.Time) string {
	return Msg{ToUserName: cdata{"gh_fake"}, FromUserName: cdata{openID}, CreateTime: at.Unix(), MsgType: cdata{"event"},
		Event: c("SCAN"), EventKey: c(scene), Ticket: c("ticket-" + scene)}.String()
}

// Click is a tap on a menu button with key.
func Click(openID, key string, at time.Time) string {
	return Msg{ToUserName: cdata{"gh_fake"}, FromUserName: cdata{openID}, CreateTime: at.Unix(), MsgType: cdata{"event"},
		Event: c("CLICK"), EventKey: c(key)}.String()
}

// Unsubscribe is an unfollow.
func Unsubscribe(openID string, at time.Time) string {
	return Msg{ToUserName: cdata{"gh_fake"}, FromUserName: cdata{openID}, CreateTime: at.Unix(), MsgType: cdata{"event"},
		Event: c("unsubscribe")}.String()
}
