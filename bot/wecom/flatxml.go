package wecom

import (
	"bytes"
	"encoding/xml"
	"strconv"
	"unicode/utf8"
)

// WeCom's callbacks, outer and decrypted, are one flat element of text children:
//
//	<xml><ToUserName><![CDATA[ww1]]></ToUserName><CreateTime>1700000000</CreateTime>...</xml>
//
// encoding/xml decodes that through its general tokenizer, about a tenth of the CPU a
// callback costs. flatXML reads exactly that shape and nothing more; on anything else
// (nested elements, attributes, namespaces, entities, comments) it reports false and the
// caller decodes with encoding/xml, so the result is always encoding/xml's.

// flatXML calls set with each child element's name and text, in order, and reports whether b
// had the flat shape. set may be called before it reports false.
func flatXML(b []byte, set func(name string, text []byte)) bool {
	b = bytes.TrimSpace(b) // a declaration (<?xml ...?>, which WeCom does not send) is not read
	root, rest, ok := startTag(b)
	if !ok {
		return false
	}
	for {
		rest = bytes.TrimLeft(rest, " \t\r\n")
		if bytes.HasPrefix(rest, []byte("</")) { // the root's end
			end := "</" + root + ">"
			return string(bytes.TrimSpace(rest)) == end
		}
		name, after, ok := startTag(rest)
		if !ok {
			return false
		}
		text, after, ok := elementText(after, name)
		if !ok {
			return false
		}
		set(name, text)
		rest = after
	}
}

// startTag reads "<name>" at the start of b.
func startTag(b []byte) (name string, rest []byte, ok bool) {
	if len(b) < 3 || b[0] != '<' {
		return "", nil, false
	}
	end := bytes.IndexByte(b, '>')
	if end < 2 {
		return "", nil, false
	}
	n := b[1:end]
	if n[0] >= '0' && n[0] <= '9' {
		return "", nil, false
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return "", nil, false // attributes, namespaces, "/", "!", "?"
		}
	}
	return string(n), b[end+1:], true
}

// elementText reads the text of an element named name up to its end tag: one CDATA section,
// or plain text without markup or entities.
func elementText(b []byte, name string) (text, rest []byte, ok bool) {
	if bytes.HasPrefix(b, []byte("<![CDATA[")) {
		b = b[len("<![CDATA["):]
		end := bytes.Index(b, []byte("]]>"))
		if end < 0 {
			return nil, nil, false
		}
		text, b = b[:end], b[end+3:]
	} else {
		end := bytes.IndexByte(b, '<')
		if end < 0 {
			return nil, nil, false
		}
		text, b = b[:end], b[end:]
		if bytes.IndexByte(text, '&') >= 0 || bytes.Contains(text, []byte("]]>")) {
			return nil, nil, false // entities; a stray CDATA end is an error
		}
	}
	if !plainChars(text) {
		return nil, nil, false
	}
	closing := len(name) + 3
	if len(b) < closing || b[0] != '<' || b[1] != '/' || string(b[2:2+len(name)]) != name || b[2+len(name)] != '>' {
		return nil, nil, false
	}
	return text, b[closing:], true
}

// plainChars reports whether text is valid UTF-8 of characters XML allows, with no \r (which
// encoding/xml normalises): what encoding/xml would return unchanged.
func plainChars(text []byte) bool {
	for _, c := range text {
		if c < 0x20 && c != '\t' && c != '\n' {
			return false
		}
	}
	return utf8.Valid(text) && !bytes.Contains(text, []byte("\uFFFE")) && !bytes.Contains(text, []byte("\uFFFF"))
}

func parseEnvelope(b []byte) (envelope, error) {
	var env envelope
	ok := flatXML(b, func(name string, text []byte) {
		switch name {
		case "ToUserName":
			env.ToUserName = string(text)
		case "AgentID":
			env.AgentID = string(text)
		case "Encrypt":
			env.Encrypt = string(text)
		}
	})
	if ok {
		return env, nil
	}
	env = envelope{}
	err := xml.Unmarshal(b, &env)
	return env, err
}

func parseAppXML(b []byte) (appXML, error) {
	var m appXML
	good := true
	ok := flatXML(b, func(name string, text []byte) {
		switch name {
		case "ToUserName":
			m.ToUserName = string(text)
		case "FromUserName":
			m.FromUserName = string(text)
		case "CreateTime":
			n, err := strconv.ParseInt(string(bytes.TrimSpace(text)), 10, 64)
			if err != nil {
				good = false // encoding/xml's error says why
			}
			m.CreateTime = n
		case "MsgType":
			m.MsgType = string(text)
		case "Content":
			m.Content = string(text)
		case "MsgId":
			m.MsgID = string(text)
		case "AgentID":
			m.AgentID = string(text)
		case "Event":
			m.Event = string(text)
		case "EventKey":
			m.EventKey = string(text)
		case "TaskId":
			m.TaskID = string(text)
		case "CardType":
			m.CardType = string(text)
		case "ResponseCode":
			m.ResponseCode = string(text)
		case "ChatId":
			m.ChatID = string(text)
		case "ChangeType":
			m.ChangeType = string(text)
		case "UpdateDetail":
			m.UpdateDetail = string(text)
		}
	})
	if ok && good {
		return m, nil
	}
	return parseAppXMLSlow(b)
}
