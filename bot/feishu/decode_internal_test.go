package feishu

import (
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	larkim "github.com/larksuite/oapi-sdk-go/v3/service/im/v1"
)

// isBase64 accepts exactly the standard alphabet and padding, byte for byte.
func TestIsBase64Alphabet(t *testing.T) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
	for c := 0; c < 256; c++ {
		want := strings.IndexByte(alphabet, byte(c)) >= 0
		if got := isBase64([]byte{'A', byte(c), 'A'}); got != want {
			t.Errorf("isBase64 with byte %#x = %v, want %v", c, got, want)
		}
	}
	if !isBase64(nil) {
		t.Errorf("isBase64(nil) = false")
	}
}

// decodeEvent reads what eventHead and then, for a message, its raw event read: the same
// head, and the message only when the header says so.
func TestDecodeEventMatchesTwoPasses(t *testing.T) {
	const msgHeader = `"header":{"event_id":"ev_1","event_type":"im.message.receive_v1","token":"t"}`
	const msgEvent = `"event":{"sender":{"sender_id":{"open_id":"ou_1"},"sender_type":"user"},"message":{"message_id":"om_1","chat_id":"oc_1","chat_type":"p2p","message_type":"text","content":"{\"text\":\"hi\"}"}}`
	for _, in := range []string{
		`{"schema":"2.0",` + msgHeader + `,` + msgEvent + `}`,
		`{` + msgEvent + `,"schema":"2.0",` + msgHeader + `}`, // header after the event
		`{"schema":"2.0",` + msgHeader + `}`,                  // no event
		`{"schema":"2.0",` + msgHeader + `,"event":null}`,
		`{"schema":"2.0",` + msgHeader + `,"event":{"message":"not an object"}}`,
		`{"schema":"2.0",` + msgHeader + `,"event":[1,2]}`,
		`{"schema":"2.0",` + msgHeader + `,"event":{"sender":{"sender_type":7}}}`,
		// Another type with a message's shape, or with a shape a message cannot take.
		`{"schema":"2.0","header":{"event_type":"im.message.reaction.created_v1","token":"t"},` + msgEvent + `}`,
		`{"schema":"2.0","header":{"event_type":"x.custom_v1","token":"t"},"event":{"message":"str","sender":7}}`,
		`{"schema":"2.0","header":{"event_type":"card.action.trigger","token":"t"},"event":{"token":"c-1","action":{"value":{"a":1}}}}`,
		`{"uuid":"u","token":"t","type":"event_callback","event":{"type":"im.message.receive_v1","message":1}}`, // v1: no header
		`{"challenge":"c","token":"t","type":"url_verification"}`,
		`{"token":5,` + msgHeader + `,` + msgEvent + `}`, // a type error outside the event
		`{"header":"x"}`,
		`{"header":{"event_type":"im.message.receive_v1"},` + msgEvent + `,}`, // not JSON
		`[]`,
		`null`,
		``,
	} {
		head, msg, err := decodeEvent([]byte(in))

		var want eventHead
		werr := json.Unmarshal([]byte(in), &want)
		if (err == nil) != (werr == nil) {
			t.Errorf("%s: err %v, eventHead's %v", in, err, werr)
			continue
		}
		if err != nil {
			continue
		}
		gotHead, wantHead := head, want
		gotHead.Event, wantHead.Event = nil, nil
		if !reflect.DeepEqual(gotHead, wantHead) {
			t.Errorf("%s: head %+v, want %+v", in, gotHead, wantHead)
		}
		if !want.isMessage() {
			if msg != nil {
				t.Errorf("%s: a %q read as a message", in, eventType(want))
			}
			continue
		}
		// A message: its event read on its own, when there is one and it fits.
		var wantMsg *larkim.P2MessageReceiveV1Data
		if len(want.Event) > 0 && string(want.Event) != "null" {
			wantMsg = &larkim.P2MessageReceiveV1Data{}
			if json.Unmarshal(want.Event, wantMsg) != nil {
				// It does not fit: decodeEvent leaves it raw for serveEvent to refuse.
				if msg != nil || !reflect.DeepEqual(head.Event, want.Event) {
					t.Errorf("%s: message %+v, raw event %s; want none and %s", in, msg, head.Event, want.Event)
				}
				continue
			}
		}
		if !reflect.DeepEqual(msg, wantMsg) {
			t.Errorf("%s: message %+v, want %+v", in, msg, wantMsg)
		}
	}
}

// BenchmarkParseEncrypted reads a body of the size a message event is sealed into, its
// ciphertext random as a real one is (a repeated pattern would flatter a branchy check).
func BenchmarkParseEncrypted(b *testing.B) {
	raw := make([]byte, 1040)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range raw {
		raw[i] = byte(r.Uint32())
	}
	body := []byte(`{"encrypt":"` + base64.StdEncoding.EncodeToString(raw) + `"}`)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := parseEncrypted(body); err != nil {
			b.Fatal(err)
		}
	}
}
