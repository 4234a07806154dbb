package oa

import (
	"strings"
	"testing"
	"time"
)

func TestDecodeCDATA(t *testing.T) {
	m, err := Decode([]byte("<xml><FromUserName><![CDATA[o1]]></FromUserName><MsgType><![CDATA[text]]></MsgType>" +
		"<Content><![CDATA[a<b>&c]]]]><![CDATA[>d]]></Content><CreateTime>1700000000</CreateTime><MsgId>99</MsgId></xml>"))
	if err != nil || m.Content != "a<b>&c]]>d" || m.FromUserName != "o1" || m.CreateTime != 1700000000 || m.MsgID != "99" {
		t.Fatalf("%+v %v", m, err)
	}
	if _, err := Decode([]byte("<xml><FromUserName>o:1</FromUserName><MsgType>text</MsgType></xml>")); err == nil {
		t.Fatal("an openid with a colon was accepted")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte("<xml><ToUserName><![CDATA[gh]]></ToUserName><FromUserName><![CDATA[o1]]></FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hi]]></Content><MsgId>1</MsgId></xml>"))
	f.Add([]byte("<xml><FromUserName>o1</FromUserName><MsgType>event</MsgType><Event>subscribe</Event><EventKey>qrscene_grid1</EventKey></xml>"))
	f.Add([]byte("<xml><FromUserName>o1</FromUserName><MsgType>voice</MsgType><Recognition>&lt;x&gt;</Recognition></xml>"))
	f.Add([]byte("<xml><a><b/></a></xml>"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			return
		}
		if m.FromUserName == "" || m.MsgType == "" || strings.ContainsAny(m.FromUserName, ": ") {
			t.Fatalf("accepted %+v", m)
		}
		msg, err := message(m, time.UTC)
		if err == nil && (msg.UserID != "oa:"+m.FromUserName || msg.EventID == "" || msg.Text == "" && msg.Action == nil) {
			t.Fatalf("message %+v from %+v", msg, m)
		}
	})
}
