package wecom

import (
	"encoding/xml"
	"reflect"
	"testing"
)

const marshalled = `<xml><ToUserName>ww1</ToUserName><FromUserName>lisi</FromUserName><CreateTime>1700000000</CreateTime>` +
	`<MsgType>text</MsgType><Content>3栋2单元楼道灯坏了，电话13812345678</Content><MsgId>m1</MsgId><AgentID>1000002</AgentID></xml>`

var flatXMLCases = []struct {
	name string
	in   string
	flat bool // the fast path reads it (else encoding/xml does)
}{
	{"wecom cdata", `<xml><ToUserName><![CDATA[ww1]]></ToUserName><FromUserName><![CDATA[zhangsan]]></FromUserName>` +
		`<CreateTime>1348831860</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[3栋<灯>坏了 & 没人修]]></Content>` +
		`<MsgId>1234567890123456</MsgId><AgentID>1000002</AgentID></xml>`, true},
	{"whitespace", "\n<xml>\n  <MsgType>event</MsgType>\n  <Event><![CDATA[enter_agent]]></Event>\n  <CreateTime> 17 </CreateTime>\n</xml>\n", true},
	// As bot/wecom/wecomtest (and so bench/harness) builds them, with xml.Marshal.
	{"marshalled", marshalled, true},
	{"card tap", `<xml><ToUserName>ww1</ToUserName><FromUserName>lisi</FromUserName><CreateTime>1700000000</CreateTime>` +
		`<MsgType>event</MsgType><AgentID>1000002</AgentID><Event>template_card_event</Event><EventKey>claim:12</EventKey>` +
		`<TaskId>task1</TaskId><CardType>button_interaction</CardType><ResponseCode>rc</ResponseCode></xml>`, true},
	{"unknown and empty elements", `<xml><Foo>bar</Foo><Content></Content><MsgType><![CDATA[]]></MsgType></xml>`, true},
	{"repeated element", `<xml><Content>a</Content><Content>b</Content></xml>`, true},
	{"entity", `<xml><Content>a &amp; b</Content></xml>`, false},
	{"numeric entity", `<xml><Content>&#34;hi&#34;</Content></xml>`, false},
	{"nested", `<xml><SelectedItems><SelectedItem><QuestionKey>k</QuestionKey></SelectedItem></SelectedItems><MsgType>event</MsgType></xml>`, false},
	{"attribute", `<xml><Content type="x">hi</Content></xml>`, false},
	{"namespace", `<xml><w:Content>hi</w:Content></xml>`, false},
	{"comment", `<xml><!-- c --><Content>hi</Content></xml>`, false},
	{"two cdata", `<xml><Content><![CDATA[a]]]]><![CDATA[>b]]></Content></xml>`, false},
	{"crlf", "<xml><Content>a\r\nb</Content></xml>", false},
	{"bad time", `<xml><CreateTime>soon</CreateTime></xml>`, true}, // read, then left to encoding/xml for its error
	{"mismatched end", `<xml><Content>hi</Contents></xml>`, false},
	{"unterminated", `<xml><Content>hi</Content>`, false},
	{"not xml", `{"encrypt":"x"}`, false},
}

// Whatever the input, parseAppXML answers as encoding/xml does; the usual callbacks take the
// fast path.
func TestParseAppXMLMatchesEncodingXML(t *testing.T) {
	for _, tc := range flatXMLCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseAppXML([]byte(tc.in))
			want, werr := parseAppXMLSlow([]byte(tc.in))
			if (err == nil) != (werr == nil) || !reflect.DeepEqual(got, want) {
				t.Fatalf("parseAppXML = %+v, %v\nencoding/xml = %+v, %v", got, err, want, werr)
			}
			if flat := flatXML([]byte(tc.in), func(string, []byte) {}); flat != tc.flat {
				t.Fatalf("flatXML reported %v, want %v", flat, tc.flat)
			}
		})
	}
}

func TestParseEnvelopeMatchesEncodingXML(t *testing.T) {
	ins := []string{
		`<xml><ToUserName><![CDATA[ww1]]></ToUserName><AgentID><![CDATA[1000002]]></AgentID><Encrypt><![CDATA[abc+/=]]></Encrypt></xml>`,
		`<xml><Encrypt>a&amp;b</Encrypt></xml>`,
		`<xml><Encrypt>x</Encrypt>`,
	}
	for _, in := range ins {
		got, err := parseEnvelope([]byte(in))
		var want envelope
		werr := xml.Unmarshal([]byte(in), &want)
		if (err == nil) != (werr == nil) || got != want {
			t.Errorf("%s: parseEnvelope = %+v, %v; encoding/xml = %+v, %v", in, got, err, want, werr)
		}
	}
}

func FuzzParseAppXML(f *testing.F) {
	for _, tc := range flatXMLCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := parseAppXML([]byte(in))
		want, werr := parseAppXMLSlow([]byte(in))
		if (err == nil) != (werr == nil) || !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: parseAppXML = %+v, %v; encoding/xml = %+v, %v", in, got, err, want, werr)
		}
	})
}

func BenchmarkParseAppXML(b *testing.B) {
	in := []byte(marshalled)
	b.Run("flat", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			parseAppXML(in)
		}
	})
	b.Run("encoding-xml", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			parseAppXMLSlow(in)
		}
	})
}
